"""Pure functions: histogram percentiles, SLA levels, the hash chain's canonical form."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from services.monitoring.aid_request.timing import bucket_of, percentile
from services.monitoring.audit.chain import (
    GENESIS_HASH,
    canonical,
    header_of,
    link_hash,
    payload_digest,
)
from services.monitoring.config import Settings
from services.monitoring.insights.drilldown import coarsen
from services.monitoring.sla.engine import level_at
from shared.events.envelope import CloudEvent
from shared.gazetteer import gazetteer


@pytest.mark.parametrize("seconds", [1, 59, 600, 3600, 86_400, 30 * 86_400])
def test_percentile_is_within_a_bucket_of_the_truth(seconds: float) -> None:
    counts = [(bucket_of(seconds), 10)]
    estimate = percentile(counts, 0.5)
    assert estimate is not None
    assert abs(estimate - seconds) / seconds < 0.16


def test_percentiles_follow_the_distribution() -> None:
    durations = [60] * 50 + [3600] * 40 + [86_400] * 10
    counts: dict[int, int] = {}
    for d in durations:
        counts[bucket_of(d)] = counts.get(bucket_of(d), 0) + 1
    p50, p90, p99 = (percentile(counts.items(), q) for q in (0.5, 0.9, 0.99))
    assert p50 is not None and 50 < p50 < 70
    assert p90 is not None and 3000 < p90 < 4200
    assert p99 is not None and p99 > 70_000
    assert percentile([], 0.5) is None


def _clock(target: float) -> SimpleNamespace:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return SimpleNamespace(started_at=start, due_at=start + timedelta(seconds=target))


def test_sla_levels_warn_breach_then_escalate_up_the_chain() -> None:
    settings = Settings(sla_escalation_fraction=0.5)
    clock = _clock(100)
    at = clock.started_at
    assert level_at(clock, at + timedelta(seconds=80), settings) == (0, clock.due_at)
    level, next_at = level_at(clock, at + timedelta(seconds=101), settings)
    assert level == 1 and next_at == clock.due_at + timedelta(seconds=50)
    level, next_at = level_at(clock, at + timedelta(seconds=151), settings)
    assert level == 2 and next_at is None  # top of the three-step chain
    assert level_at(clock, at + timedelta(days=9), settings) == (2, None)


def test_sla_targets_are_configurable_per_urgency_and_stage() -> None:
    settings = Settings(sla_targets={"urgent": {"triage": 42}})
    assert settings.sla_target("urgent", "triage") == 42
    assert settings.sla_target("urgent", "offer") == 6 * 3600  # default kept
    assert settings.sla_target("routine", "triage") == 24 * 3600


def test_chain_links_every_column_and_the_payload_by_its_digest() -> None:
    event = CloudEvent(
        source="/t", type="concord.t.x.v1", subject="s", data={"b": 1, "a": 2}, id=uuid.uuid4()
    )
    text = canonical(event)
    assert text.index('"a"') < text.index('"b"')  # sorted keys: one form per event
    assert payload_digest(text) != payload_digest(text.replace('"b":1', '"b":2'))
    columns: dict[str, Any] = {
        "event_id": event.id,
        "event_type": event.type,
        "topic": "t",
        "subject": "s",
        "actor": None,
        "occurred_at": event.time,
        "sensitivity": "restricted",
    }
    first = link_hash(GENESIS_HASH, header_of(**columns, digest=payload_digest(text)))
    assert first != link_hash("1" * 64, header_of(**columns, digest=payload_digest(text)))
    for column, other in (("topic", "u"), ("actor", "x"), ("sensitivity", None)):
        changed = header_of(**(columns | {column: other}), digest=payload_digest(text))
        assert link_hash(GENESIS_HASH, changed) != first, column
    altered = header_of(**columns, digest=payload_digest(text.replace('"b":1', '"b":2')))
    assert link_hash(GENESIS_HASH, altered) != first


def test_restricted_rows_are_coarsened_for_roles_not_allowed() -> None:
    row = {
        "sensitivity": "restricted",
        "pcode": "SS0101",
        "lat": 4.8512,
        "lon": 31.6011,
        "title": "Survivors sheltering at the mission school",
    }
    hidden = coarsen(row, may_see=False)
    juba = gazetteer().get("SS0101")
    assert juba is not None
    assert (hidden["lat"], hidden["lon"]) == (juba.lat, juba.lon)
    assert hidden["title"] == "(restricted)" and hidden["details_withheld"] is True
    assert coarsen(row, may_see=True) == row
    public = row | {"sensitivity": "internal"}
    assert coarsen(public, may_see=False) == public
