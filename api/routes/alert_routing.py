"""Routing rules: which alerts go to which group, people and plan."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/routing-rules", tags=["routing"])
