"""The minimum sensitivity the server derives from what a record is, and the raise-only rule.

Concord's three classes and the IASC Operational Guidance on Data Responsibility (2023)
sensitivity levels they stand for (`docs/data-responsibility.md` has the full table):

- `public` = IASC public / low: an NGO's name and sectors, the vocabulary, 3W counts;
- `internal` = IASC moderate: a food request with its location, an operation's plan;
- `restricted` = IASC high / severe: protection, GBV and child-protection data, survivors,
  children, exact locations of vulnerable groups.

One pure function per kind of record (`aid_request_floor`, `incident_floor`) says what the
record is at least, with the reasons; `classify` applies the rule every writer follows: a
caller may ask for a higher class than the floor, never a lower one. A lower one is not an
error (a field unit uploading a backlog from a poor link must not lose a report over a
label): the record gets the floor, and `Classification.raised_from` keeps what was asked so
the response can say so.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from shared.vocabulary import Sector, Sensitivity

RANK = {Sensitivity.public: 0, Sensitivity.internal: 1, Sensitivity.restricted: 2}

RESTRICTED_SECTORS = frozenset({Sector.protection, Sector.gbv, Sector.child_protection})
"""Sectors whose every record is restricted: who needs protection, and where, is the data."""

RESTRICTED_INCIDENT_TYPES = frozenset({"human_rights_violation", "sgbv", "child_protection"})
"""Incident types (values of `IncidentType`) that are protection incidents."""

RESTRICTED_VULNERABILITIES = frozenset({"unaccompanied_children"})
"""Vulnerability factors (values of `VulnerabilityFactor`) that point at identifiable children."""

SENSITIVE_TEXT_MARKERS = re.compile(
    r"\b(survivors?|rap(e|ed|ing)|sexual(ly)? (violence|assault|abuse|exploitation)|"
    r"gbv|sgbv|unaccompanied|separated child(ren)?|child soldiers?|abduct(ed|ion)?|"
    r"traffick(ed|ing)|forced marriage|defilement)\b",
    re.IGNORECASE,
)
"""Words in free text that mark a record as naming a survivor or a child. Deliberately short:
a marker that matches raises a record to restricted, so a false positive costs an NGO a
detail, a false negative exposes a person; the reporter's own flags are the primary signal."""

DEFAULT_SENSITIVITY = Sensitivity.internal


@dataclass(frozen=True)
class Floor:
    """The derived minimum of a record and why."""

    sensitivity: Sensitivity
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Classification:
    """What a record is stored with: `sensitivity` (never below `floor`), the reasons for the
    floor, and what the caller asked for when it was lower (`raised_from`) or `None`."""

    sensitivity: Sensitivity
    floor: Sensitivity
    reasons: tuple[str, ...]
    raised_from: Sensitivity | None


def higher(a: Sensitivity, b: Sensitivity) -> Sensitivity:
    return a if RANK[a] >= RANK[b] else b


def is_below(a: Sensitivity, b: Sensitivity) -> bool:
    return RANK[a] < RANK[b]


def text_markers(texts: Iterable[str | None]) -> list[str]:
    """The sensitive markers found in free text, lower-cased, in order, without repeats."""
    found: list[str] = []
    for text in texts:
        for match in SENSITIVE_TEXT_MARKERS.finditer(text or ""):
            word = match.group(0).lower()
            if word not in found:
                found.append(word)
    return found


def _floor(reasons: list[str]) -> Floor:
    if reasons:
        return Floor(Sensitivity.restricted, tuple(reasons))
    return Floor(Sensitivity.public, ())


def aid_request_floor(
    sector: str,
    *,
    names_survivor: bool = False,
    involves_child: bool = False,
    vulnerability: Iterable[str] = (),
    texts: Iterable[str | None] = (),
) -> Floor:
    """An aid request is restricted if its sector is protection/GBV/child protection, the
    reporter says it names a survivor or concerns an identifiable child, it counts
    unaccompanied children, or its free text carries a sensitive marker."""
    reasons: list[str] = []
    if sector in RESTRICTED_SECTORS:
        reasons.append(f"sector:{sector}")
    if names_survivor:
        reasons.append("names_survivor")
    if involves_child:
        reasons.append("involves_child")
    reasons += [f"vulnerability:{v}" for v in vulnerability if v in RESTRICTED_VULNERABILITIES]
    reasons += [f"text:{marker}" for marker in text_markers(texts)]
    return _floor(reasons)


def incident_floor(
    incident_type: str,
    *,
    names_survivor: bool = False,
    involves_child: bool = False,
    texts: Iterable[str | None] = (),
) -> Floor:
    """An incident is restricted if it is a protection incident (human-rights violation,
    SGBV, child protection), names a survivor, concerns a child, or its text carries a
    sensitive marker."""
    reasons: list[str] = []
    if incident_type in RESTRICTED_INCIDENT_TYPES:
        reasons.append(f"incident_type:{incident_type}")
    if names_survivor:
        reasons.append("names_survivor")
    if involves_child:
        reasons.append("involves_child")
    reasons += [f"text:{marker}" for marker in text_markers(texts)]
    return _floor(reasons)


def classify(requested: Sensitivity | None, floor: Floor) -> Classification:
    """The raise-only rule: the caller's class if it is at least the floor, else the floor
    (and `raised_from` says what was asked). Nothing asked: the higher of the floor and
    `internal`."""
    if requested is None:
        return Classification(
            higher(floor.sensitivity, DEFAULT_SENSITIVITY), floor.sensitivity, floor.reasons, None
        )
    if is_below(requested, floor.sensitivity):
        return Classification(floor.sensitivity, floor.sensitivity, floor.reasons, requested)
    return Classification(requested, floor.sensitivity, floor.reasons, None)


def reclassification_error(
    new: Sensitivity, *, current: Sensitivity, floor: Sensitivity
) -> str | None:
    """Why staff may not reclassify a record from `current` to `new`, or `None` if they may.
    Unlike intake (which raises a lower class silently), a reclassification below the floor is
    refused: staff asked for something the data does not allow, and must be told."""
    if new == current:
        return f"The record is already {current.value}"
    if is_below(new, floor):
        return (
            f"{new.value} is below this record's derived minimum ({floor.value}): "
            "a record can be raised above what it is, never lowered below it"
        )
    return None


# --- registry and planning records ---

NGO_PROFILE_REASON = "kind:ngo_public_profile"
AGREEMENT_REASON = "kind:agreement"
OPERATION_REASON = "kind:operation"
NOTIFICATION_REASON = "kind:humanitarian_notification"


def ngo_floor() -> Floor:
    """An NGO's published profile (name, sectors, areas, capacities, coarsened bases) is
    public: it is what the directory and the NGO topic are for. Its contacts, registrations
    and exact bases are never part of it (staff views only), so they do not raise it."""
    return Floor(Sensitivity.public, (NGO_PROFILE_REASON,))


def agreement_floor() -> Floor:
    """A partnership agreement is internal: between the mission and its parties."""
    return Floor(Sensitivity.internal, (AGREEMENT_REASON,))


def notification_floor() -> Floor:
    """A humanitarian notification is internal: it holds an NGO's route or site, its
    vehicles and contact, which other NGOs must not see."""
    return Floor(Sensitivity.internal, (NOTIFICATION_REASON,))


def operation_floor(
    sectors: Iterable[str],
    *,
    restricted_incident_ids: Iterable[str] = (),
    texts: Iterable[str | None] = (),
) -> Floor:
    """An operation is internal (its plan), restricted when it works in a protection, GBV or
    child-protection sector, is linked to a restricted incident (who was hurt, and where, is
    then part of the plan), or its title or objectives carry a sensitive marker."""
    reasons = [f"sector:{s}" for s in dict.fromkeys(sectors) if s in RESTRICTED_SECTORS]
    reasons += [f"restricted_incident:{i}" for i in dict.fromkeys(restricted_incident_ids)]
    reasons += [f"text:{marker}" for marker in text_markers(texts)]
    if reasons:
        return Floor(Sensitivity.restricted, tuple(reasons))
    return Floor(Sensitivity.internal, (OPERATION_REASON,))
