"""Escalation: incidents nobody accepts in time go to the first and second responsible,
then management, per priority (seed 003 §3.2)."""
