"""Need-to-know views of restricted records for staff who are not entitled to the details.

A protection officer, an administrator, or an operations centre holding the `restricted`
grant sees a restricted request or incident in full; so does the unit that reported it (it
typed the details). Any other staff member (an operations centre without the grant) gets it
coarsened: the state (admin1) and its centre instead of the point, no description, contact,
constraints or reporter-typed title, and `details_withheld: true`. See
docs/data-responsibility.md, "Who sees what".
"""

from __future__ import annotations

from typing import Any

from shared.auth import Principal, Role
from shared.gazetteer import gazetteer
from shared.vocabulary import Sensitivity

WITHHELD_FIELDS_TO_NONE = ("description", "contact", "priority_reason", "escalation_reason")
WITHHELD_FIELDS_TO_EMPTY = ("access_constraints", "security_constraints")


def own_report(principal: Principal, reporting_unit: str) -> bool:
    if Role.field_unit in principal.roles and principal.unit_id == reporting_unit:
        return True
    return reporting_unit == f"ops:{principal.subject}"


def withhold(principal: Principal, view: dict[str, Any]) -> dict[str, Any]:
    """`view` (a request's or incident's JSON state) as this principal may see it."""
    restricted = view.get("sensitivity") == Sensitivity.restricted.value
    if (
        not restricted
        or principal.sees_restricted
        or own_report(principal, str(view.get("reporting_unit")))
    ):
        return {**view, "details_withheld": False}
    coarse = dict(view)
    location = dict(view["location"])
    state = location.get("admin1") or location["pcode"]
    area = gazetteer().areas.get(state)
    if area is not None:
        location.update(lat=area.lat, lon=area.lon)
    location["pcode"] = state
    coarse["location"] = location
    for field in WITHHELD_FIELDS_TO_NONE:
        if field in coarse:
            coarse[field] = None
    for field in WITHHELD_FIELDS_TO_EMPTY:
        if field in coarse:
            coarse[field] = []
    if "title" in coarse:
        coarse["title"] = f"{coarse.get('sector', 'restricted')} request (details withheld)"
    coarse["details_withheld"] = True
    return coarse
