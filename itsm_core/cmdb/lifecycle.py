"""The lifecycle of a CI: planned → active ⇄ maintenance, missing when discovery loses
it, retired at the end (and restorable to active, e.g. when discovery sees it again).

Setting a CI to the state it is already in is no move at all (and never refused).
"""

from __future__ import annotations

from itsm_core.cmdb.choices import Lifecycle
from itsm_core.errors import InvalidTransition
from itsm_core.statemachine import StateMachine

L = Lifecycle

LIFECYCLE: StateMachine[Lifecycle, object] = (
    StateMachine[Lifecycle, object]("CI")
    .allow("activate", [L.PLANNED, L.MAINTENANCE, L.MISSING, L.RETIRED], L.ACTIVE)
    .allow("maintain", [L.ACTIVE, L.MISSING], L.MAINTENANCE)
    # Only something that was in service can go missing; a planned CI is not yet seen.
    .allow("lose", [L.ACTIVE, L.MAINTENANCE], L.MISSING)
    .allow("retire", [L.PLANNED, L.ACTIVE, L.MAINTENANCE, L.MISSING], L.RETIRED)
)


def check_move(current: Lifecycle, target: Lifecycle) -> None:
    """Raise ``InvalidTransition`` unless ``current`` may become ``target``."""
    if current == target:
        return
    try:
        LIFECYCLE.check(current, target, None)
    except InvalidTransition as exc:
        # Keyed by the field the caller sent, not the generic "state".
        exc.errors = {"lifecycle": [exc.detail]}
        raise
