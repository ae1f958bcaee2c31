"""Alerts to incidents: intake, de-duplication, correlation, routing, escalation, notification.

Other packages hand alerts in through :mod:`alerting.canonical` only.
"""
