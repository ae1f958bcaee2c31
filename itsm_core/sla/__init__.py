"""Business calendars and the SLA clock.

Pure, database-free code: calendar definitions as plain data (``definition``), the
PRC statutory holiday sources (``holiday_sources``), per-day classification with caches
(``calendar``) and the due-time / elapsed-time functions (``clock``).
"""
