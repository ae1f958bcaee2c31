"""Alert intake: the Alertmanager v4 webhook and the generic JSON endpoint."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])
