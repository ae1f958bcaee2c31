"""Keep channel secrets out of every log line and error message.

Robot keys and tokens travel in URLs (``…/send?key=…``), and the HTTP libraries log URLs
at debug (urllib3) or info (httpx) level; apprise logs its plugins' requests too. While
a message is being sent its channel's secrets are registered here, and a filter on
those loggers replaces them with ``***`` in any record before a handler sees it.
:func:`scrub` does the same for the error text stored in the delivery log.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from urllib.parse import parse_qsl, urlsplit

MASK = "***"
# Loggers that may print a URL or a request of a notification.
LOGGERS = ("apprise", "urllib3.connectionpool", "httpx", "fulcrum.notifications")
# Shorter strings would mask ordinary words; real keys and tokens are far longer.
MIN_SECRET_LENGTH = 4


class SecretRedactor(logging.Filter):
    """A logging filter masking every currently registered secret string."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._active: Counter[str] = Counter()

    @contextmanager
    def active(self, secrets: Iterable[str]) -> Iterator[None]:
        """Mask ``secrets`` until the block ends (nested and concurrent blocks add up)."""
        wanted = [s for s in set(secrets) if len(s) >= MIN_SECRET_LENGTH]
        with self._lock:
            self._active.update(wanted)
        try:
            yield
        finally:
            with self._lock:
                self._active.subtract(wanted)
                self._active += Counter()  # drop the zero counts

    def scrub(self, text: str) -> str:
        with self._lock:
            secrets = sorted(self._active, key=len, reverse=True)
        for secret in secrets:
            text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._active:
            return True
        message = record.getMessage()
        cleaned = self.scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


REDACTOR = SecretRedactor()
for _name in LOGGERS:
    logging.getLogger(_name).addFilter(REDACTOR)


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with the registered secrets and ``secrets`` masked."""
    for secret in sorted(
        {s for s in secrets if len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True
    ):
        text = text.replace(secret, MASK)
    return REDACTOR.scrub(text)


def url_fragments(url: str) -> list[str]:
    """The parts of a secret URL worth masking on their own (password, query, path)."""
    fragments = [url]
    try:
        parts = urlsplit(url)
    except ValueError:
        return fragments
    if parts.password:
        fragments.append(parts.password)
    fragments += [value for _, value in parse_qsl(parts.query)]
    if parts.query:
        fragments.append(parts.query)
    if len(parts.path) > 1:
        fragments.append(parts.path)
    return fragments
