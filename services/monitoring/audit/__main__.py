"""`python -m services.monitoring.audit verify`: check the audit chain from the command line.

Exits 0 when the chain is intact, 1 with the first broken link otherwise.
"""

from __future__ import annotations

import asyncio
import sys

import orjson

from services.monitoring.audit.chain import Verification, verify_chain
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
            return await verify_chain(conn)
    finally:
        await engine.dispose()


def main(argv: list[str]) -> int:
    if argv[1:] != ["verify"]:
        print("usage: python -m services.monitoring.audit verify", file=sys.stderr)
        return 2
    result = asyncio.run(verify(Settings()))
    print(orjson.dumps(result.as_dict(), option=orjson.OPT_INDENT_2).decode())
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
