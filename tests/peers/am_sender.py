"""A webhook sender that behaves like Alertmanager's notifier, for the crash test.

Alertmanager retries a notification on a 5xx or a network error with exponential
back-off (jittered) until the group's budget — ``max(group_interval, 10s)`` — runs out,
never retries a 4xx, and re-sends the group on its next flush whatever happened.
:meth:`deliver` is one notification attempt cycle; the caller's loop is the flushes.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class Outcome:
    """How one notification ended: ``status`` of the last answer (None: no answer)."""

    acknowledged: bool
    status: int | None
    attempts: int
    detail: str = ""


class AlertmanagerLikeSender:
    def __init__(
        self,
        url: str,
        token: str,
        *,
        budget: float = 10.0,
        first_backoff: float = 0.05,
        max_backoff: float = 1.0,
        request_timeout: float = 10.0,
        seed: int = 0,
    ) -> None:
        self.url = url
        self.budget = budget
        self.first_backoff = first_backoff
        self.max_backoff = max_backoff
        self._random = random.Random(seed)
        self._client = httpx.Client(
            headers={"Authorization": f"Bearer {token}", "User-Agent": "Alertmanager/0.25.0"},
            timeout=request_timeout,
            trust_env=False,
        )

    def deliver(self, payload: dict[str, Any]) -> Outcome:
        """Post until a 2xx, a 4xx, or the budget is spent."""
        deadline = time.monotonic() + self.budget
        backoff = self.first_backoff
        attempts = 0
        status: int | None = None
        detail = ""
        while True:
            attempts += 1
            try:
                answer = self._client.post(self.url, json=payload)
                status, detail = answer.status_code, answer.text[:300]
                if answer.is_success:
                    return Outcome(True, status, attempts)
                if 400 <= status < 500:
                    return Outcome(False, status, attempts, detail)  # never retried
            except httpx.TransportError as exc:
                status, detail = None, repr(exc)
            pause = backoff * (0.5 + self._random.random())
            if time.monotonic() + pause > deadline:
                return Outcome(False, status, attempts, detail)
            time.sleep(pause)
            backoff = min(backoff * 2, self.max_backoff)

    def close(self) -> None:
        self._client.close()
