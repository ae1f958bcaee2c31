"""Business calendars, the SLA clock, and the SLA records of incidents.

Pure, database-free code: ``definition`` holds calendars as plain JSON-ready data,
``holiday_sources`` the PRC statutory holidays (chinese-calendar, then the holidays
library), ``calendar`` the cached per-date classification, ``clock`` the due / warning /
elapsed functions, with ``choices`` for the enumerations and ``instants`` for exact
microsecond arithmetic.

On the database (``service`` lists the entry points): ``models`` (calendars, policies,
incident SLA records, events), ``calendars`` and ``policies`` (administration),
``matching`` (which policy applies), ``facts`` + ``records`` (``sync_incident``),
``evaluation`` (the background job), ``views`` (reading an incident's clocks).
"""
