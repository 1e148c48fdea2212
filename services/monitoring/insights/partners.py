"""Per-NGO contribution and agreement reporting compliance."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.db.models.read_models import agreements, ngo_contribution, ngos


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


def _schedule(starts_on: date, ends_on: date, every_days: int, today: date) -> dict[str, Any]:
    """Reports owed under one obligation: one at the end of every period since the start."""
    last_day = min(today, ends_on)
    elapsed = (last_day - starts_on).days
    due_so_far = max(elapsed // every_days, 0)
    next_due = starts_on + timedelta(days=every_days * (due_so_far + 1))
    last_due = starts_on + timedelta(days=every_days * due_so_far) if due_so_far else None
    return {
        "reports_due_so_far": due_so_far,
        "last_due_on": last_due.isoformat() if last_due else None,
        "next_due_on": next_due.isoformat() if next_due <= ends_on else None,
    }


async def compliance(session: AsyncSession, *, today: date | None = None) -> list[dict[str, Any]]:
    """Reporting duties of active agreements: how many reports fell due and when the next is.

    The registry's contract carries the obligations but no event for a report received, so
    this lists what is owed; matching received reports needs that event (see docs).
    """
    today = today or date.today()
    rows = (
        await session.execute(
            select(agreements).where(agreements.c.status == "active").order_by(agreements.c.ends_on)
        )
    ).all()
    result = []
    for row in rows:
        duties = [
            {"what": o["what"], "frequency_days": o["frequency_days"]}
            | _schedule(row.starts_on, row.ends_on, o["frequency_days"], today)
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
            }
        )
    return result
