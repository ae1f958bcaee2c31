"""ORM models of the collectors and the metric store (filled in by the metric-store work)."""
