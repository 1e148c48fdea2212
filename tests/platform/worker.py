"""A relay or a consumer of the test harness, as a real process that chaos tests can kill.

    python -m tests.platform.worker relay   SCHEMA TOPIC
    python -m tests.platform.worker consume SCHEMA TOPIC GROUP

Reads DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS; honours CONCORD_CRASH_AT (shared.faults).
Runs until killed, or for WORKER_SECONDS (default 60).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys

from shared.db import create_engine, create_sessionmaker, plain_dsn
from shared.events.inbox import InboxConsumer
from shared.events.kafka import create_producer
from shared.events.outbox import OutboxRelay
from tests.platform.harness import Harness


async def main(mode: str, schema: str, topic: str, group: str | None) -> None:
    url = os.environ["DATABASE_URL"]
    bootstrap = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    harness = Harness(schema, topic)
    engine = create_engine(url, schema=schema, application_name=f"worker-{mode}")
    producer = create_producer(bootstrap, client_id=f"worker-{mode}")
    await producer.start()
    if mode == "relay":
        relay = OutboxRelay(
            outbox=harness.outbox,
            engine=engine,
            producer=producer,
            listen_dsn=plain_dsn(url),
            poll_interval=0.2,
        )
        runner = relay.run()
    else:
        assert group is not None
        consumer = InboxConsumer(
            group_id=group,
            router=harness.router,
            inbox=harness.inbox,
            sessionmaker=create_sessionmaker(engine),
            bootstrap_servers=bootstrap,
            producer=producer,
            batch_size=50,
        )
        runner = consumer.run()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(runner, timeout=float(os.environ.get("WORKER_SECONDS", "60")))
    await producer.stop()
    await engine.dispose()


if __name__ == "__main__":
    args = sys.argv[1:]
    asyncio.run(main(args[0], args[1], args[2], args[3] if len(args) > 3 else None))
