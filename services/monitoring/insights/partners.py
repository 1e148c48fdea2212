"""Per-NGO contribution and agreement reporting compliance."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.db.models.read_models import (
    agreements,
    ngo_contribution,
    ngos,
    report_submissions,
)


async def contributions(session: AsyncSession) -> list[dict[str, Any]]:
    rows = (
        await session.execute(
            select(ngo_contribution, ngos.c.name, ngos.c.acronym)
            .join(ngos, ngos.c.ngo_id == ngo_contribution.c.ngo_id, isouter=True)
            .order_by(ngo_contribution.c.people_reached.desc(), ngo_contribution.c.ngo_id)
        )
    ).all()
    result = []
    for row in rows:
        answered = row.accepted + row.declined
        result.append(
            {
                "ngo_id": str(row.ngo_id),
                "name": row.name or str(row.ngo_id),
                "acronym": row.acronym,
                "offers": row.offers,
                "accepted": row.accepted,
                "declined": row.declined,
                "acceptance_rate": round(row.accepted / answered, 3) if answered else None,
                "fulfilled": row.fulfilled,
                "fulfilled_on_time": row.fulfilled_on_time,
                "on_time_rate": round(row.fulfilled_on_time / row.fulfilled, 3)
                if row.fulfilled
                else None,
                "people_reached": row.people_reached,
            }
        )
    return result


def _period_of(starts_on: date, every_days: int, period_end: date) -> int:
    """Which period (1, 2, …) a report for `period_end` covers: the one whose window
    (due date - frequency, due date] holds it, so a report dated a little off the exact due
    date still counts for its period."""
    return max(-(-(period_end - starts_on).days // every_days), 1)


def _schedule(
    starts_on: date,
    ends_on: date,
    every_days: int,
    today: date,
    *,
    reported: set[date],
    grace_days: int,
) -> dict[str, Any]:
    """One obligation's periods so far: a report falls due at the end of every period since
    the start, and is overdue once its due date plus the grace has passed without one."""
    last_day = min(today, ends_on)
    elapsed = (last_day - starts_on).days
    due_so_far = max(elapsed // every_days, 0)
    next_due = starts_on + timedelta(days=every_days * (due_so_far + 1))
    last_due = starts_on + timedelta(days=every_days * due_so_far) if due_so_far else None
    covered = {_period_of(starts_on, every_days, d) for d in reported}
    periods = []
    for k in range(1, due_so_far + 1):
        due_on = starts_on + timedelta(days=every_days * k)
        if k in covered:
            state = "reported"
        elif due_on + timedelta(days=grace_days) < today:
            state = "overdue"
        else:
            state = "due"
        periods.append({"due_on": due_on.isoformat(), "state": state})
    return {
        "reports_due_so_far": due_so_far,
        "reports_received": sum(p["state"] == "reported" for p in periods),
        "reports_overdue": sum(p["state"] == "overdue" for p in periods),
        "overdue_since": next((p["due_on"] for p in periods if p["state"] == "overdue"), None),
        "periods": periods,
        "last_due_on": last_due.isoformat() if last_due else None,
        "next_due_on": next_due.isoformat() if next_due <= ends_on else None,
    }


async def compliance(
    session: AsyncSession, *, grace_days: int, today: date | None = None
) -> list[dict[str, Any]]:
    """Reporting duties of active agreements: per obligation, which periods fell due, which
    were reported, which are overdue (due date + `grace_days` passed without a report), and
    when the next is due. Agreements with overdue reports come first."""
    today = today or date.today()
    rows = (
        await session.execute(
            select(agreements).where(agreements.c.status == "active").order_by(agreements.c.ends_on)
        )
    ).all()
    received: dict[tuple[Any, str], set[date]] = defaultdict(set)
    if rows:
        held = await session.execute(
            select(
                report_submissions.c.agreement_id,
                report_submissions.c.obligation,
                report_submissions.c.period_end,
            ).where(report_submissions.c.agreement_id.in_([r.agreement_id for r in rows]))
        )
        for agreement_id, obligation, period_end in held:
            received[(agreement_id, obligation)].add(period_end)
    result = []
    for row in rows:
        duties = [
            {"what": o["what"], "frequency_days": o["frequency_days"]}
            | _schedule(
                row.starts_on,
                row.ends_on,
                o["frequency_days"],
                today,
                reported=received[(row.agreement_id, o["what"])],
                grace_days=grace_days,
            )
            for o in row.reporting_obligations
        ]
        result.append(
            {
                "agreement_id": str(row.agreement_id),
                "title": row.title,
                "ngo_ids": row.ngo_ids,
                "ends_on": row.ends_on.isoformat(),
                "days_left": (row.ends_on - today).days,
                "obligations": duties,
                "reports_due_so_far": sum(d["reports_due_so_far"] for d in duties),
                "reports_received": sum(d["reports_received"] for d in duties),
                "reports_overdue": sum(d["reports_overdue"] for d in duties),
                "next_due_on": min(
                    (d["next_due_on"] for d in duties if d["next_due_on"]), default=None
                ),
            }
        )
    # Stable: among equals the order by end date stays.
    result.sort(key=lambda a: -a["reports_overdue"])
    return result
