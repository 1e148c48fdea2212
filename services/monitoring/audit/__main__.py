"""`python -m services.monitoring.audit verify`: check the audit chain from the command line.

Exits 0 when the chain is intact and complete; 1 when a link is broken or when the chain is
missing events the audit consumer dead-lettered.
"""

from __future__ import annotations

import asyncio
import sys

import orjson

from services.monitoring.audit.chain import Verification
from services.monitoring.audit.gaps import verify_trail
from services.monitoring.config import Settings
from shared.db import create_engine


async def verify(settings: Settings) -> Verification:
    engine = create_engine(
        settings.service_database_url,
        schema=settings.db_schema,
        application_name="monitoring-audit-cli",
        pool_size=1,
    )
    try:
        async with engine.connect() as conn:
            return await verify_trail(conn)
    finally:
        await engine.dispose()


def main(argv: list[str]) -> int:
    if argv[1:] != ["verify"]:
        print("usage: python -m services.monitoring.audit verify", file=sys.stderr)
        return 2
    result = asyncio.run(verify(Settings()))
    print(orjson.dumps(result.as_dict(), option=orjson.OPT_INDENT_2).decode())
    print(result.summary(), file=sys.stderr)
    return 0 if result.ok and result.complete else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
