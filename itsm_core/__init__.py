"""The ITIL core of Fulcrum: settings, database, CMDB, tickets, SLA, changes, audit.

Nothing in here imports the other Fulcrum packages; they all import this one.
"""
