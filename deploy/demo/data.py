"""The demo mission: invented NGOs in a South-Sudan-like mission area, and their history.

Names are invented (any likeness to a real organisation is accidental); admin areas and
P-codes come from the bundled gazetteer. Everything is derived deterministically from fixed
seeds, and every entity has a stable id (uuid5 of its name or number), so seeding twice
finds what the first run created instead of duplicating it.
"""

from __future__ import annotations

import csv
import random
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from shared.gazetteer import gazetteer
from shared.vocabulary import Sector

DEMO_NAMESPACE = uuid.UUID("6f1c9a52-6d1e-4a43-9a55-0c0c0dde0001")


def demo_id(kind: str, key: str) -> uuid.UUID:
    return uuid.uuid5(DEMO_NAMESPACE, f"{kind}:{key}")


@dataclass(frozen=True)
class DemoNgo:
    name: str
    acronym: str
    ngo_type: str
    hq_country: str
    sectors: tuple[str, ...]
    areas: tuple[str, ...]  # states (SSnn) or counties (SSnnnn)
    target_status: str  # submitted, under_review, vetted, rejected, suspended
    reject_reason: str | None = None

    @property
    def ngo_id(self) -> uuid.UUID:
        return demo_id("ngo", self.name)


NGOS_FILE = Path(__file__).with_name("ngos.csv")

REJECT_REASONS = {
    "Wau Disability Inclusion Forum": "Registration certificate lapsed; invited to resubmit",
    "Horizon Relief Front": "Listed on the mission's consolidated sanctions list",
}


def _load_ngos() -> list[DemoNgo]:
    with NGOS_FILE.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [
        DemoNgo(
            name=row["name"],
            acronym=row["acronym"],
            ngo_type=row["ngo_type"],
            hq_country=row["hq_country"],
            sectors=tuple(Sector(s).value for s in row["sectors"].split()),
            areas=tuple(row["areas"].split()),
            target_status=row["target_status"],
            reject_reason=REJECT_REASONS.get(row["name"]),
        )
        for row in rows
    ]


NGOS = _load_ngos()

# resource, unit, low, high: what an organisation working in a sector typically has
CAPACITY_BY_SECTOR: dict[str, tuple[str, str, int, int]] = {
    "health": ("mobile_clinics", "teams", 1, 8),
    "nutrition": ("rutf_stock", "cartons", 200, 4000),
    "wash": ("water_trucking", "m3/day", 20, 300),
    "food_security": ("food_rations", "mt/month", 10, 800),
    "shelter_nfi": ("nfi_kits", "kits", 100, 5000),
    "protection": ("case_workers", "persons", 2, 40),
    "gbv": ("safe_spaces", "centres", 1, 12),
    "child_protection": ("case_workers", "persons", 2, 30),
    "education": ("temporary_classrooms", "classrooms", 2, 60),
    "logistics": ("trucks", "vehicles", 2, 40),
    "emergency_telecoms": ("vsat_kits", "kits", 1, 15),
    "cccm": ("site_managers", "persons", 1, 20),
    "early_recovery": ("cash_for_work", "households", 50, 2000),
    "human_rights": ("monitors", "persons", 2, 25),
    "rule_of_law": ("paralegals", "persons", 2, 30),
    "ddr": ("reintegration_places", "persons", 20, 500),
    "mine_action": ("clearance_teams", "teams", 1, 10),
    "peacebuilding": ("mediators", "persons", 2, 20),
}

# item, unit, low, high: what a field unit asks for in a sector
ITEMS_BY_SECTOR: dict[str, list[tuple[str, str, int, int]]] = {
    "health": [("medical_kits", "kits", 2, 20), ("cholera_kits", "kits", 1, 6)],
    "nutrition": [("rutf", "cartons", 20, 300)],
    "wash": [("water", "m3", 10, 200), ("hygiene_kits", "kits", 50, 800)],
    "food_security": [("food_rations", "rations", 100, 3000)],
    "shelter_nfi": [("plastic_sheeting", "rolls", 20, 400), ("nfi_kits", "kits", 50, 600)],
    "protection": [("protection_assessment", "missions", 1, 2)],
    "gbv": [("dignity_kits", "kits", 50, 500)],
    "child_protection": [("family_tracing", "cases", 5, 60)],
    "education": [("school_kits", "kits", 20, 300)],
    "logistics": [("truck_trips", "trips", 1, 12)],
    "emergency_telecoms": [("vsat_kits", "kits", 1, 3)],
    "cccm": [("site_planning", "sites", 1, 3)],
    "early_recovery": [("seed_kits", "kits", 100, 1500)],
    "human_rights": [("monitoring_visit", "visits", 1, 4)],
    "rule_of_law": [("mobile_court_sessions", "sessions", 1, 5)],
    "ddr": [("reintegration_kits", "kits", 20, 200)],
    "mine_action": [("area_clearance", "sites", 1, 4)],
    "peacebuilding": [("dialogue_sessions", "sessions", 1, 6)],
}

# Team sites and patrols that report from the field: unit id -> county
FIELD_UNITS: dict[str, str] = {
    "ts-juba": "SS0101",
    "ts-bor": "SS0303",
    "ts-malakal": "SS0707",
    "ts-rubkona": "SS0609",
    "ts-wau": "SS0903",
    "ts-aweil": "SS0501",
    "ts-torit": "SS0208",
    "ts-yambio": "SS1010",
    "ts-rumbek": "SS0403",
    "ts-kuajok": "SS0802",
    "ts-pibor": "SS0307",
    "ts-leer": "SS0604",
    "patrol-akobo": "SS0301",
    "patrol-nasir": "SS0704",
    "patrol-yei": "SS0106",
}

# Where trouble concentrates: incident reports and urgent needs are drawn more often here.
HOTSPOT_STATES = ("SS03", "SS06", "SS07")


def counties_of(pcodes: tuple[str, ...] | list[str]) -> list[str]:
    """Every county in or equal to the given areas."""
    gaz = gazetteer()
    return sorted(a.pcode for a in gaz.at_level(2) if any(gaz.covers(p, a.pcode) for p in pcodes))


def profile(ngo: DemoNgo) -> dict[str, object]:
    """The `POST /ngos` body of a demo NGO."""
    rng = random.Random(ngo.name)
    capacities = []
    for sector in ngo.sectors:
        resource, unit, low, high = CAPACITY_BY_SECTOR[sector]
        capacities.append({"resource": resource, "quantity": rng.randint(low, high), "unit": unit})
    capacities.append({"resource": "staff", "quantity": rng.randint(8, 400), "unit": "persons"})
    slug = ngo.acronym.lower()
    return {
        "ngo_id": str(ngo.ngo_id),
        "name": ngo.name,
        "acronym": ngo.acronym,
        "ngo_type": ngo.ngo_type,
        "hq_country": ngo.hq_country,
        "website": f"https://{slug}.example.org",
        "contacts": [
            {
                "name": f"{ngo.acronym} country director",
                "role": "Country director",
                "email": f"director@{slug}.example.org",
            },
        ],
        "registrations": [
            {
                "country": "SS",
                "registration_number": f"SS-NGO-{1000 + _NGOS_INDEX[ngo.name]:04d}",
                "legal_status": "Registered non-governmental organisation",
                "issued_on": str(date(2019 + _NGOS_INDEX[ngo.name] % 6, 3, 1)),
            }
        ],
        "sectors": list(ngo.sectors),
        "capacities": capacities,
        "operating_areas": list(ngo.areas),
        "languages": ["en", "ar"] + (["din"] if rng.random() < 0.5 else ["nus"]),
        "operational_approach": f"{ngo.name} works through community-based teams "
        f"in {len(counties_of(ngo.areas))} counties.",
    }


_NGOS_INDEX = {ngo.name: index for index, ngo in enumerate(NGOS)}


@dataclass(frozen=True)
class DemoAgreement:
    key: str
    title: str
    parties: tuple[DemoNgo, ...]
    ends_in_days: int  # from today; under 30 means it shows as expiring soon
    activate: bool = True

    @property
    def agreement_id(self) -> uuid.UUID:
        return demo_id("agreement", self.key)

    def body(self, today: date) -> dict[str, object]:
        sectors = sorted({s for ngo in self.parties for s in ngo.sectors})
        pcodes = sorted({p for ngo in self.parties for p in ngo.areas})
        return {
            "agreement_id": str(self.agreement_id),
            "title": self.title,
            "parties": [
                {
                    "ngo_id": str(ngo.ngo_id),
                    "role": "lead" if i == 0 else "partner",
                    "responsibilities": [
                        f"deliver {s.replace('_', ' ')} services" for s in ngo.sectors
                    ],
                }
                for i, ngo in enumerate(self.parties)
            ],
            "sectors": sectors,
            "pcodes": pcodes,
            "mission_responsibilities": ["force protection for convoys", "access negotiation"],
            "reporting_obligations": [
                {"what": "activity report", "frequency_days": 30},
                {"what": "incident notification", "frequency_days": 7},
            ],
            "starts_on": str(today - timedelta(days=120 + len(self.key) * 7)),
            "ends_on": str(today + timedelta(days=self.ends_in_days)),
            "signatories": ["Head of Civil Affairs", f"{self.parties[0].acronym} country director"],
        }


def _agreements() -> list[DemoAgreement]:
    eligible = [n for n in NGOS if n.target_status in ("vetted", "suspended")]
    by_name = {n.acronym: n for n in NGOS}
    consortia = {"HBF": ("HBF", "AGC"), "CRI": ("CRI", "RCV"), "OHPN": ("OHPN", "JWSA")}
    in_consortium = {a for members in consortia.values() for a in members[1:]}
    expiring = {"MHA": 12, "SWA": 21, "LLAC": 6, "TRRS": 27}
    result: list[DemoAgreement] = []
    for index, ngo in enumerate(eligible):
        if ngo.acronym in in_consortium:
            continue
        parties = tuple(by_name[a] for a in consortia.get(ngo.acronym, (ngo.acronym,)))
        days = expiring.get(ngo.acronym, 180 + (index * 37) % 400)
        label = " and ".join(p.acronym for p in parties)
        result.append(
            DemoAgreement(f"mou-{ngo.acronym.lower()}", f"MoU: mission and {label}", parties, days)
        )
    # Drafts still being negotiated: visible, not in force, grant nothing.
    result.append(
        DemoAgreement(
            "draft-cpb-2",
            "Draft MoU: community violence reduction",
            (by_name["CPB"], by_name["LLAC"]),
            365,
            activate=False,
        )
    )
    result.append(
        DemoAgreement(
            "draft-echn-2",
            "Draft MoU: cholera preparedness",
            (by_name["ECHN"],),
            300,
            activate=False,
        )
    )
    return result


AGREEMENTS = _agreements()


@dataclass
class DemoRequest:
    client_id: str
    unit_id: str
    body: dict[str, object]
    outcome: str  # fulfilled, in_progress, accepted, declined_once, pending
    extra: dict[str, object] = field(default_factory=dict)


def point_in(pcode: str, rng: random.Random) -> dict[str, object]:
    """A point near a county's centroid, tagged with the county."""
    area = gazetteer().areas[pcode]
    return {
        "lat": round(area.lat + rng.uniform(-0.08, 0.08), 5),
        "lon": round(area.lon + rng.uniform(-0.08, 0.08), 5),
        "pcode": pcode,
    }
