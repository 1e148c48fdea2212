"""The priority score: explainable terms, ordered as the ops centre expects."""

from __future__ import annotations

from services.humanitarian_requests.aid_request.triage import priority_score
from shared.vocabulary import Sector, Urgency


def score(
    urgency: Urgency = Urgency.urgent,
    total: int = 500,
    sector: Sector = Sector.health,
    vulnerable: int = 0,
) -> float:
    return priority_score(
        urgency=urgency, affected_total=total, sector=sector, vulnerability_count=vulnerable
    )


def test_life_threatening_outranks_any_routine_request() -> None:
    worst_routine = score(Urgency.routine, total=1_000_000, vulnerable=10)
    assert score(Urgency.life_threatening, total=1, sector=Sector.peacebuilding) > worst_routine


def test_each_term_raises_the_score_and_the_total_is_bounded() -> None:
    assert score(total=5000) > score(total=50)
    assert score(sector=Sector.wash) > score(sector=Sector.shelter_nfi) > score(sector=Sector.ddr)
    assert score(vulnerable=3) > score(vulnerable=1)
    assert score(vulnerable=5) == score(vulnerable=50)  # capped
    top = score(Urgency.life_threatening, total=10**7, vulnerable=20)
    assert top == 100.0
    assert score(Urgency.routine, total=0, sector=Sector.ddr) == 13.0
