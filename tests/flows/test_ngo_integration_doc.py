"""The subscriber example in docs/ngo-integration.md works as the page says it does.

The page's Python block runs unchanged, as its own process, against the test broker: an
event delivered twice is printed once, and a later event of the same entity (same key, so
same partition, so after the duplicate) shows that the duplicate was already read.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from deploy.stack import LocalStack
from services.monitoring.tests.factories import ngo, publish
from shared.events.catalog import Audience
from shared.events.envelope import CloudEvent
from shared.events.schemas import CATALOG

pytestmark = pytest.mark.integration

DOC = Path(__file__).resolve().parents[2] / "docs" / "ngo-integration.md"


def example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    assert len(blocks) == 1, "the page has one Python example"
    return blocks[0]


def test_the_page_names_every_ngo_event_type() -> None:
    text = DOC.read_text()
    for entry in CATALOG:
        if entry.topic.audience is Audience.ngo:
            assert f"`{entry.name}`" in text, entry.name
            assert f"`{entry.topic.name}`" in text, entry.topic.name


async def test_the_aiokafka_example_prints_each_event_once(
    stack: LocalStack, kafka_bootstrap: str, tmp_path: Path
) -> None:
    script = tmp_path / "subscriber.py"
    script.write_text(example())
    ngo_id = uuid.uuid4()
    # Not vetted, no grants: the replicas that read this topic later get nothing to match.
    state = ngo(ngo_id=ngo_id, version=1, name="Doc example NGO", grants=[], eligible=False)
    first = CloudEvent(
        source="/concord/ngo_registry",
        type="concord.ngo_registry.ngo.registered.v1",
        subject=str(ngo_id),
        time=datetime.now(UTC),
        data=state.model_dump(mode="json"),
    )
    later = first.model_copy(
        update={"id": uuid.uuid4(), "data": state.model_dump(mode="json") | {"version": 2}}
    )
    await publish(kafka_bootstrap, [first, first, later])

    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        env={
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
            "CONCORD_GROUP": f"ngo.{ngo_id}.doc-example",
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    printed: list[str] = []
    try:
        assert process.stdout is not None

        async def until_later_is_printed() -> None:
            while True:
                line = (await process.stdout.readline()).decode()
                assert line, "the example stopped"
                printed.append(line.split()[0])
                if printed[-1] == str(later.id):
                    return

        await asyncio.wait_for(until_later_is_printed(), timeout=90)
    finally:
        process.kill()
        await process.wait()
    assert printed.count(str(first.id)) == 1
    assert printed.index(str(first.id)) < printed.index(str(later.id))
