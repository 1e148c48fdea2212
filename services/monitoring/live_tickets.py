"""Short-lived single-use tickets that open the dashboard's live stream.

A browser's `EventSource` cannot send an `Authorization` header, and a bearer token in the
stream's URL would land in proxy logs, browser history and Referer headers, where it stays
valid for hours. So the dashboard first calls `POST /api/live/tickets` with its bearer
header, and opens `GET /api/live?ticket=…` with what it gets: a random value that is good
for `MONITORING_LIVE_TICKET_TTL_SECONDS` (at most 60) and for one stream only, bound to the
principal who asked for it. A logged URL is useless by the time anyone reads it.

The tickets live in Postgres, so any replica redeems what another issued. Redeeming is one
`DELETE … RETURNING`: two requests racing with the same ticket cannot both get it.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, func, insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.monitoring.db.models.live import live_tickets
from shared.auth import Principal
from shared.errors import InvalidToken

TICKET_BYTES = 32


def ticket_digest(ticket: str) -> bytes:
    """What the table keeps of a ticket."""
    return hashlib.sha256(ticket.encode()).digest()


async def issue_ticket(session: AsyncSession, principal: Principal, *, ttl_seconds: int) -> str:
    """A new ticket for `principal`, valid for `ttl_seconds`; expired ones are swept here."""
    await session.execute(delete(live_tickets).where(live_tickets.c.expires_at < func.now()))
    ticket = secrets.token_urlsafe(TICKET_BYTES)
    await session.execute(
        insert(live_tickets).values(
            ticket_sha256=ticket_digest(ticket),
            subject=principal.subject,
            roles=sorted(role.value for role in principal.roles),
            unit_id=principal.unit_id,
            ngo_id=principal.ngo_id,
            expires_at=func.now() + timedelta(seconds=ttl_seconds),
        )
    )
    return ticket


async def redeem_ticket(session: AsyncSession, ticket: str | None) -> Principal:
    """The principal a ticket was issued to; the ticket is spent. `InvalidToken` (401) for a
    missing, unknown, used or expired ticket."""
    if not ticket:
        raise InvalidToken(
            "The live stream needs a ticket: POST /api/live/tickets with your bearer token, "
            "then GET /api/live?ticket=…"
        )
    if len(ticket) > 200:
        raise InvalidToken("The live-stream ticket is not valid")
    row = (
        await session.execute(
            delete(live_tickets)
            .where(live_tickets.c.ticket_sha256 == ticket_digest(ticket))
            .returning(
                live_tickets.c.subject,
                live_tickets.c.roles,
                live_tickets.c.unit_id,
                live_tickets.c.ngo_id,
                (live_tickets.c.expires_at > func.now()).label("fresh"),
            )
        )
    ).one_or_none()
    if row is None:
        raise InvalidToken("The live-stream ticket is not valid (unknown or already used)")
    if not row.fresh:
        raise InvalidToken("The live-stream ticket has expired; ask for a new one")
    return Principal(
        subject=row.subject, roles=frozenset(row.roles), unit_id=row.unit_id, ngo_id=row.ngo_id
    )
