"""The one list of sectors, urgencies and sensitivities, used by every service and event."""

from __future__ import annotations

from enum import StrEnum


class Sector(StrEnum):
    """IASC clusters plus the sectors of a peace operation."""

    health = "health"
    wash = "wash"
    food_security = "food_security"
    nutrition = "nutrition"
    shelter_nfi = "shelter_nfi"
    protection = "protection"
    gbv = "gbv"
    child_protection = "child_protection"
    education = "education"
    logistics = "logistics"
    emergency_telecoms = "emergency_telecoms"
    cccm = "cccm"
    early_recovery = "early_recovery"
    human_rights = "human_rights"
    rule_of_law = "rule_of_law"
    ddr = "ddr"
    mine_action = "mine_action"
    peacebuilding = "peacebuilding"


class Urgency(StrEnum):
    life_threatening = "life_threatening"
    urgent = "urgent"
    routine = "routine"


class Sensitivity(StrEnum):
    """`restricted`: protection incidents, victims, exact locations of vulnerable groups."""

    public = "public"
    internal = "internal"
    restricted = "restricted"
