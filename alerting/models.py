"""ORM models of alerting (filled in by the alert-intake work)."""

# Imported for their side effect: each module registers its tables on the metadata.
import alerting.escalation.models  # escalation policies, incident escalation steps
import alerting.intake_models  # alerts, occurrences, deliveries, windows, dead-man
import alerting.notifications.models  # channels, outbox deliveries, attempts
import alerting.routing.models  # noqa: F401  (the routing tables)
