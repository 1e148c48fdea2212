"""The ranking explanation of a restricted request's offer goes to the NGO (API and the
NGO-readable offer topic): it must not reveal more of the location than the admin area."""

from __future__ import annotations

from datetime import date

from services.humanitarian_requests.db.models.tables import AidRequest, NgoReplica
from services.humanitarian_requests.matching.ranking import rank
from services.humanitarian_requests.tests.helpers import ngo_state
from shared.gazetteer import gazetteer
from shared.vocabulary import Sector

FIELDS = (
    "ngo_id",
    "name",
    "sectors",
    "capacities",
    "operating_areas",
    "operating_points",
    "vetting_status",
    "eligibility",
    "eligible",
    "version",
)


def test_restricted_offer_explanation_does_not_depend_on_the_exact_point() -> None:
    # A county grant and a state grant: the grant level must not give the county away either.
    state = ngo_state(
        name="gbv partner", sector=Sector.gbv, pcodes=["SS0101", "SS01"], near="SS0301"
    )
    data = state.model_dump(mode="json")
    data["ngo_id"] = state.ngo_id
    ngo = NgoReplica(**{k: data[k] for k in FIELDS})
    centre = gazetteer().areas["SS0101"]

    def ranked_at(
        lat: float, sensitivity: str, pcode: str = "SS0101"
    ) -> tuple[float, list[dict[str, object]]]:
        request = AidRequest(
            sector="gbv", pcode=pcode, lat=lat, lon=centre.lon, sensitivity=sensitivity
        )
        (only,) = rank(request, [ngo], open_load={}, records={}, today=date.today())
        return only.score, [f.model_dump() for f in only.factors]

    # Two survivors' locations 30 km apart in the same county: an NGO must not be able to
    # tell them apart (nor triangulate them from its own operating point).
    north, south = centre.lat + 0.15, centre.lat - 0.15
    assert ranked_at(north, "restricted") == ranked_at(south, "restricted")
    neighbour = gazetteer().areas["SS0102"]
    assert neighbour.pcode.startswith("SS01")  # same state, another county
    assert ranked_at(north, "restricted") == ranked_at(neighbour.lat, "restricted", "SS0102")
    notes = {str(f["factor"]): str(f["note"]) for f in ranked_at(north, "restricted")[1]}
    assert "state's centre" in notes["distance"]
    # A non-restricted request keeps its exact distance: proximity still ranks.
    assert ranked_at(north, "internal") != ranked_at(south, "internal")
