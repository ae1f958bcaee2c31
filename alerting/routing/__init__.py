"""Routing: which fault type, group, people, urgency and contingency plan an alert gets."""
