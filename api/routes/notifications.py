"""Notification channels, templates and the delivery log."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])
