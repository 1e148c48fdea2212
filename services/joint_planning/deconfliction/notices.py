"""What an NGO is told about a conflict: when, roughly where, how far — nothing else.

Never the operation's title, participants or purpose, never the incident's type, severity,
casualties or description: only that a mission activity or a security incident is there.
"""

from __future__ import annotations

from datetime import UTC, datetime

from services.joint_planning.common.areas import name_of


def _between(start: datetime, end: datetime) -> str:
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if start.date() == end.date():
        return f"between {start:%H:%M} and {end:%H:%M} UTC on {start:%Y-%m-%d}"
    return f"between {start:%Y-%m-%d %H:%M} and {end:%Y-%m-%d %H:%M} UTC"


def mission_activity(*, what: str, start: datetime, end: datetime, near_pcode: str) -> str:
    where = name_of(near_pcode)
    return f"A mission activity conflicts with your {what} {_between(start, end)} near {where}"


def security_incident(*, what: str, occurred_at: datetime, distance_km: float) -> str:
    at = occurred_at.astimezone(UTC)
    return (
        f"A security incident was reported near your {what} at {at:%H:%M} UTC on "
        f"{at:%Y-%m-%d}, about {max(distance_km, 0.1):.1f} km from it"
    )
