"""Reporting schedule: which periods fell due, which are reported, which are overdue."""

from __future__ import annotations

from datetime import date, timedelta

from services.monitoring.insights.partners import _period_of, _schedule

START = date(2026, 1, 1)


def test_a_report_counts_for_the_period_whose_window_holds_its_end_date() -> None:
    assert _period_of(START, 30, START + timedelta(days=30)) == 1
    assert _period_of(START, 30, START + timedelta(days=28)) == 1
    assert _period_of(START, 30, START + timedelta(days=31)) == 2
    assert _period_of(START, 30, START) == 1


def test_overdue_only_after_the_grace_and_without_a_report() -> None:
    today = START + timedelta(days=95)
    plan = _schedule(
        START,
        START + timedelta(days=365),
        30,
        today,
        reported={START + timedelta(days=59)},  # a day early for the second period
        grace_days=7,
    )
    assert plan["reports_due_so_far"] == 3
    assert [p["state"] for p in plan["periods"]] == ["overdue", "reported", "due"]
    assert plan["reports_overdue"] == 1 and plan["reports_received"] == 1
    assert plan["overdue_since"] == str(START + timedelta(days=30))
    assert plan["next_due_on"] == str(START + timedelta(days=120))
    # Exactly at due date + grace it is not yet overdue; the day after, it is.
    edge = START + timedelta(days=90 + 7)
    assert (
        _schedule(START, edge + timedelta(days=300), 30, edge, reported=set(), grace_days=7)[
            "periods"
        ][2]["state"]
        == "due"
    )
    assert (
        _schedule(
            START,
            edge + timedelta(days=300),
            30,
            edge + timedelta(days=1),
            reported=set(),
            grace_days=7,
        )["periods"][2]["state"]
        == "overdue"
    )


def test_nothing_due_before_the_first_period_ends_nor_after_the_agreement_ends() -> None:
    early = _schedule(
        START,
        START + timedelta(days=100),
        30,
        START + timedelta(days=10),
        reported=set(),
        grace_days=7,
    )
    assert early["reports_due_so_far"] == 0 and early["periods"] == []
    late = _schedule(
        START,
        START + timedelta(days=70),
        30,
        START + timedelta(days=500),
        reported=set(),
        grace_days=7,
    )
    assert late["reports_due_so_far"] == 2 and late["next_due_on"] is None
