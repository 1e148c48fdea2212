"""Need-to-know views of restricted records for staff who are not entitled to the details.

A protection officer, an administrator, or an operations centre holding the `restricted`
grant sees a restricted request or incident in full; so does the unit that reported it (it
typed the details). Any other staff member (an operations centre without the grant) gets it
coarsened: the state (admin1) and its centre instead of the point, no description, contact,
constraints, typed reasons or reporter-typed title, the items by their vocabulary labels, and
`details_withheld: true`. See
docs/data-responsibility.md, "Who sees what".
"""

from __future__ import annotations

from typing import Any

from services.humanitarian_requests.common.items import listed_names
from shared.auth import Principal, Role
from shared.gazetteer import gazetteer
from shared.vocabulary import Sensitivity

WITHHELD_FIELDS_TO_NONE = (
    "description",
    "contact",
    "priority_reason",
    "escalation_reason",
    "cancellation_reason",
)
WITHHELD_FIELDS_TO_EMPTY = ("access_constraints", "security_constraints")


def own_report(principal: Principal, reporting_unit: str) -> bool:
    if Role.field_unit in principal.roles and principal.unit_id == reporting_unit:
        return True
    return reporting_unit == f"ops:{principal.subject}"


def served_in_full(principal: Principal, view: dict[str, Any]) -> bool:
    """A restricted record shown in full to someone other than its reporter: an access to
    record in the access log."""
    return (
        view.get("sensitivity") == Sensitivity.restricted.value
        and view.get("details_withheld") is False
        and not own_report(principal, str(view.get("reporting_unit")))
    )


def withhold(
    principal: Principal, view: dict[str, Any], *, purpose_given: bool = True
) -> dict[str, Any]:
    """`view` (a request's or incident's JSON state) as this principal may see it. A list
    serves restricted records in full only with a `purpose` (`purpose_given`): an entitled
    reader browsing without one gets them coarsened like everyone else."""
    restricted = view.get("sensitivity") == Sensitivity.restricted.value
    if (
        not restricted
        or own_report(principal, str(view.get("reporting_unit")))
        or (principal.sees_restricted and purpose_given)
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
    if coarse.get("items"):
        # The item names as NGOs read them (the vocabulary's labels), not the typed text.
        names = listed_names(coarse["items"], str(coarse["sector"]))
        coarse["items"] = [{**i, "item": n} for i, n in zip(coarse["items"], names, strict=True)]
    coarse["details_withheld"] = True
    return coarse
