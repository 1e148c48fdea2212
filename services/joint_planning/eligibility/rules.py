"""Who may be an implementing participant: the registry's rule, read from the replica.

An NGO may implement an operation when the registry says it is eligible (vetted, not
suspended or expired, with an agreement in force) and, for at least one of the operation's
sectors, its grants in that sector cover every area of the operation.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from services.joint_planning.db.models.replicas import NgoEligibility
from shared.gazetteer import gazetteer


def covering_sectors(
    replica: NgoEligibility | None, sectors: Sequence[str], areas: Sequence[str], today: date
) -> list[str]:
    """The operation's sectors the NGO may implement in all its areas today (may be empty)."""
    if replica is None or not replica.eligible:
        return []
    gaz = gazetteer()
    live: list[dict[str, Any]] = [
        g for g in replica.grants if date.fromisoformat(str(g["valid_until"])) >= today
    ]
    able: list[str] = []
    for sector in sectors:
        pcodes = [p for g in live if g["sector"] == sector for p in g["pcodes"]]
        if all(any(gaz.covers(p, area) for p in pcodes) for area in areas):
            able.append(sector)
    return able


def why_not(replica: NgoEligibility | None, sectors: Sequence[str], areas: Sequence[str]) -> str:
    if replica is None:
        return "the registry has not published this NGO"
    if not replica.eligible:
        return f"the NGO is not eligible (vetting status {replica.vetting_status})"
    return (
        f"no agreement in force covers any of the sectors {', '.join(sectors)} "
        f"in all of the areas {', '.join(areas)}"
    )
