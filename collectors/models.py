"""ORM models of the collectors and the metric store (imported by ``api.models``)."""

from collectors.store.models import Rollup, Series, StoredSample
from collectors.target_state import TargetState

__all__ = ["Rollup", "Series", "StoredSample", "TargetState"]
