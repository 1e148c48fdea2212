"""The one list of sectors, urgencies, sensitivities and item codes, used by every service and
event."""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import NamedTuple


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


class ItemCode(StrEnum):
    """The goods and services a request may name, as NGOs read them.

    A small list drawn from the clusters' standard kits and services, each filed under the
    sector whose kit it is (`ITEMS`); `other` for anything the list does not name. A
    request of any sector may name any item (a shelter request asks for jerrycans too).
    Codes are added, never renamed or removed: they travel on NGO-readable topics.
    """

    # wash
    drinking_water = "drinking_water"
    water_trucking = "water_trucking"
    water_purification_tablets = "water_purification_tablets"
    jerrycan = "jerrycan"
    bucket = "bucket"
    hygiene_kit = "hygiene_kit"
    soap = "soap"
    latrine_construction = "latrine_construction"
    # health
    oral_rehydration_salts = "oral_rehydration_salts"
    emergency_health_kit = "emergency_health_kit"
    first_aid_kit = "first_aid_kit"
    mosquito_net = "mosquito_net"
    vaccination = "vaccination"
    mobile_clinic = "mobile_clinic"
    # nutrition
    therapeutic_food = "therapeutic_food"
    supplementary_food = "supplementary_food"
    # food_security
    food_basket = "food_basket"
    cereals = "cereals"
    cooking_oil = "cooking_oil"
    pulses = "pulses"
    seeds_and_tools = "seeds_and_tools"
    # shelter_nfi
    tarpaulin = "tarpaulin"
    emergency_shelter_kit = "emergency_shelter_kit"
    blanket = "blanket"
    sleeping_mat = "sleeping_mat"
    kitchen_set = "kitchen_set"
    solar_lamp = "solar_lamp"
    # gbv, child protection, education
    dignity_kit = "dignity_kit"
    recreation_kit = "recreation_kit"
    school_kit = "school_kit"
    # logistics
    fuel = "fuel"
    transport = "transport"
    other = "other"


class ItemEntry(NamedTuple):
    label: str  # what NGO-readable payloads say, in place of the reporter's words
    sector: Sector | None  # the sector whose kit it is; None for `other`
    # Phrases (lower case, singular) that name it in a reporter's text, for the match.
    phrases: tuple[str, ...]


ITEMS: Mapping[ItemCode, ItemEntry] = {
    ItemCode.drinking_water: ItemEntry(
        "Drinking water",
        Sector.wash,
        ("water", "drinking water", "potable water", "safe water", "bottled water"),
    ),
    ItemCode.water_trucking: ItemEntry(
        "Water trucking",
        Sector.wash,
        ("water trucking", "water truck", "trucked water", "water tanker", "water bowser"),
    ),
    ItemCode.water_purification_tablets: ItemEntry(
        "Water purification tablets",
        Sector.wash,
        ("water purification", "purification tablet", "aquatab", "chlorine tablet", "pur sachet"),
    ),
    ItemCode.jerrycan: ItemEntry("Jerrycan", Sector.wash, ("jerrycan", "jerry can", "jerrican")),
    ItemCode.bucket: ItemEntry("Bucket", Sector.wash, ("bucket",)),
    ItemCode.hygiene_kit: ItemEntry("Hygiene kit", Sector.wash, ("hygiene kit", "wash kit")),
    ItemCode.soap: ItemEntry("Soap", Sector.wash, ("soap", "bar of soap")),
    ItemCode.latrine_construction: ItemEntry(
        "Latrine construction", Sector.wash, ("latrine", "toilet")
    ),
    ItemCode.oral_rehydration_salts: ItemEntry(
        "Oral rehydration salts",
        Sector.health,
        ("ors", "oral rehydration", "rehydration salt"),
    ),
    ItemCode.emergency_health_kit: ItemEntry(
        "Emergency health kit",
        Sector.health,
        ("health kit", "iehk", "medical kit", "medical supply", "medicine", "essential drug"),
    ),
    ItemCode.first_aid_kit: ItemEntry("First aid kit", Sector.health, ("first aid",)),
    ItemCode.mosquito_net: ItemEntry(
        "Mosquito net", Sector.health, ("mosquito net", "bed net", "bednet", "llin")
    ),
    ItemCode.vaccination: ItemEntry(
        "Vaccination", Sector.health, ("vaccination", "vaccine", "immunisation", "immunization")
    ),
    ItemCode.mobile_clinic: ItemEntry(
        "Mobile clinic", Sector.health, ("mobile clinic", "health team", "medical team")
    ),
    ItemCode.therapeutic_food: ItemEntry(
        "Ready-to-use therapeutic food",
        Sector.nutrition,
        ("rutf", "plumpy nut", "plumpynut", "therapeutic food"),
    ),
    ItemCode.supplementary_food: ItemEntry(
        "Ready-to-use supplementary food",
        Sector.nutrition,
        ("rusf", "supplementary food", "csb", "corn soya blend"),
    ),
    ItemCode.food_basket: ItemEntry(
        "General food basket",
        Sector.food_security,
        ("food basket", "food ration", "food parcel", "food kit", "food"),
    ),
    ItemCode.cereals: ItemEntry(
        "Cereals",
        Sector.food_security,
        ("cereal", "sorghum", "maize", "rice", "wheat flour", "grain"),
    ),
    ItemCode.cooking_oil: ItemEntry(
        "Cooking oil", Sector.food_security, ("cooking oil", "vegetable oil")
    ),
    ItemCode.pulses: ItemEntry("Pulses", Sector.food_security, ("pulse", "bean", "lentil")),
    ItemCode.seeds_and_tools: ItemEntry(
        "Seeds and tools", Sector.food_security, ("seed", "farming tool", "agricultural tool")
    ),
    ItemCode.tarpaulin: ItemEntry(
        "Tarpaulin", Sector.shelter_nfi, ("tarpaulin", "tarp", "plastic sheeting")
    ),
    ItemCode.emergency_shelter_kit: ItemEntry(
        "Emergency shelter kit", Sector.shelter_nfi, ("shelter kit", "tent", "shelter")
    ),
    ItemCode.blanket: ItemEntry("Blanket", Sector.shelter_nfi, ("blanket",)),
    ItemCode.sleeping_mat: ItemEntry("Sleeping mat", Sector.shelter_nfi, ("sleeping mat", "mat")),
    ItemCode.kitchen_set: ItemEntry(
        "Kitchen set", Sector.shelter_nfi, ("kitchen set", "cooking set", "cooking pot")
    ),
    ItemCode.solar_lamp: ItemEntry(
        "Solar lamp", Sector.shelter_nfi, ("solar lamp", "solar light", "torch", "lantern")
    ),
    ItemCode.dignity_kit: ItemEntry(
        "Dignity kit", Sector.gbv, ("dignity kit", "sanitary pad", "menstrual")
    ),
    ItemCode.recreation_kit: ItemEntry(
        "Recreation kit", Sector.child_protection, ("recreation kit", "child friendly space")
    ),
    ItemCode.school_kit: ItemEntry(
        "School kit", Sector.education, ("school kit", "school in a box", "learning kit")
    ),
    ItemCode.fuel: ItemEntry("Fuel", Sector.logistics, ("fuel", "diesel", "petrol")),
    ItemCode.transport: ItemEntry(
        "Transport", Sector.logistics, ("transport", "truck", "vehicle", "lorry")
    ),
    ItemCode.other: ItemEntry("Other item", None, ()),
}
"""Every item code's label, sector and the phrases the match looks for."""


def item_label(code: ItemCode) -> str:
    return ITEMS[code].label


def items_of(sector: Sector) -> list[ItemCode]:
    """The codes filed under `sector` (its cluster's kits and services)."""
    return [code for code, entry in ITEMS.items() if entry.sector is sector]


_WORD = re.compile(r"[a-z0-9]+")


def _words(text: str) -> list[str]:
    """Lower-case words, a plural's trailing `s` dropped (`kits` → `kit`, `ors` stays)."""
    words = _WORD.findall(text.lower().replace("-", " "))
    return [w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in words]


def match_item(text: str, sector: Sector | None = None) -> ItemCode:
    """The code a reporter's item text names, conservatively: `other` unless it is clear.

    Each code's phrases are looked for as whole words. A phrase found inside a longer one
    found too gives way to it (`water trucking` is not also `water`). When more than one
    code is left, the text names several things or none clearly: the one of the request's
    sector if exactly one is, else `other`. Never a guess from part of a word."""
    words = _words(text)
    found: list[tuple[int, int, ItemCode]] = []  # (start, end) word span, code
    for code, entry in ITEMS.items():
        for phrase in entry.phrases:
            needle = _words(phrase)
            size = len(needle)
            for start in range(len(words) - size + 1):
                if words[start : start + size] == needle:
                    found.append((start, start + size, code))
    kept = {
        code
        for start, end, code in found
        if not any(s <= start and end <= e and (e - s) > (end - start) for s, e, _ in found)
    }
    if len(kept) == 1:
        return kept.pop()
    in_sector = {code for code in kept if ITEMS[code].sector is sector}
    if sector is not None and len(in_sector) == 1:
        return in_sector.pop()
    return ItemCode.other


UNITS: Mapping[str, tuple[str, ...]] = {
    "piece": ("piece", "pc", "pcs", "item", "each", "unit", "no", "nos", "number"),
    "kit": ("kit",),
    "set": ("set",),
    "household": ("household", "hh", "family", "families"),
    "person": ("person", "people", "persons", "individual", "beneficiary", "pax", "child"),
    "litre": ("litre", "liter", "l", "ltr", "lt"),
    "m3": ("m3", "cubic metre", "cubic meter", "cbm"),
    "m3/day": ("m3 day", "m3 per day", "cubic metre per day", "cbm day"),
    "kg": ("kg", "kilogram", "kilo", "kgs"),
    "tonne": ("tonne", "ton", "t", "mt", "metric ton", "metric tonne"),
    "sachet": ("sachet",),
    "tablet": ("tablet", "tab"),
    "box": ("box", "boxe", "carton", "case"),
    "bag": ("bag", "sack"),
    "bottle": ("bottle",),
    "roll": ("roll",),
    "bundle": ("bundle", "bale"),
    "dose": ("dose",),
    "metre": ("metre", "meter", "m"),
    "day": ("day",),
    "hour": ("hour", "hr", "hrs"),
    "trip": ("trip", "truckload", "load", "rotation"),
    "vehicle": ("vehicle", "truck", "lorry"),
    "visit": ("visit",),
    "team": ("team",),
}
"""Units NGO-readable payloads may name: each canonical unit and the spellings it stands for."""

GENERIC_UNIT = "unit"
"""The unit an NGO reads for a typed unit none of `UNITS` spells (the typed text stays staff's)."""


def match_unit(text: str) -> str:
    """The canonical unit a typed unit spells, whole (`"20L jerrycans"` is no unit), else
    `GENERIC_UNIT`: NGO-readable payloads carry no reporter text, not even in a unit."""
    words = _words(text.replace("/", " ").replace("³", "3"))
    for unit, spellings in UNITS.items():
        if any(words == _words(spelling) for spelling in spellings):
            return unit
    return GENERIC_UNIT
