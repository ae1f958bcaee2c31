"""ORM models of alerting (filled in by the alert-intake work)."""
