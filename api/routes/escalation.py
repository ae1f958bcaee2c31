"""Escalation policies per priority."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/escalation-policies", tags=["escalation"])
