"""The metric store: series and their samples."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/series", tags=["metrics"])
