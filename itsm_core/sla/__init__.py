"""Business calendars and the SLA clock: pure, database-free code.

``definition`` holds calendars as plain JSON-ready data, ``holiday_sources`` the PRC
statutory holidays (chinese-calendar, then the holidays library), ``calendar`` the
cached per-date classification, ``clock`` the due / warning / elapsed functions, with
``choices`` for the enumerations and ``instants`` for exact microsecond arithmetic.
"""
