"""Prestart step: provision every service's role and schema, then run its migrations.

`python -m deploy.prestart` — run once before the services start (docker-compose runs it as
the `prestart` service; the local stack calls `prepare_databases`). Idempotent.
"""

from __future__ import annotations

import asyncio
import os

from deploy.services import SERVICES
from shared.migrations import provision, upgrade


async def prepare_databases(admin_url: str) -> None:
    specs = list(SERVICES)
    await provision(admin_url, [spec.settings() for spec in specs])
    for spec in specs:
        # Alembic's env.py runs its own event loop; give it a thread of its own.
        await asyncio.to_thread(upgrade, spec.settings(), spec.migrations_dir)


def main() -> None:
    asyncio.run(prepare_databases(os.environ["DATABASE_URL"]))
    print("prestart: schemas provisioned and migrated")


if __name__ == "__main__":
    main()
