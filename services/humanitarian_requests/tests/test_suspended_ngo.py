"""A suspended NGO (vetting, or a data incident's containment) is refused by the requests
service on every route its role may call, as soon as the registry's event reaches the
replica; its token has not changed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from deploy.stack import LocalStack
from services.humanitarian_requests.app import create_app
from services.humanitarian_requests.config import Settings
from services.humanitarian_requests.tests.helpers import (
    ngo_state,
    publish_registry_events,
    wait_for_replica,
)
from shared.events.schemas.ngo_registry import VettingStatus
from shared.testing import bearer, problem_of, serve_in_process
from shared.vocabulary import Sector

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def client(stack: LocalStack) -> AsyncIterator[httpx.AsyncClient]:
    async with serve_in_process(create_app(Settings())) as running:
        yield running


async def test_a_suspended_ngo_is_refused_and_a_vetted_one_is_not(
    client: httpx.AsyncClient, kafka_bootstrap: str, database_url: str
) -> None:
    settings = Settings()
    vetted = ngo_state(name="Still vetted", sector=Sector.wash, pcodes=["SS01"])
    await publish_registry_events(kafka_bootstrap, [vetted])
    await wait_for_replica(database_url, vetted.ngo_id, vetted.version)
    as_ngo = bearer(settings, "ngo", ngo_id=vetted.ngo_id)
    assert (await client.get("/offers", headers=as_ngo)).status_code == 200

    suspended = vetted.model_copy(
        update={"vetting_status": VettingStatus.suspended, "version": vetted.version + 1}
    )
    await publish_registry_events(kafka_bootstrap, [suspended])
    await wait_for_replica(database_url, vetted.ngo_id, suspended.version)
    for path in ("/offers", "/aid-requests"):
        refused = await client.get(path, headers=as_ngo)
        assert refused.status_code == 403, (path, refused.text)
        assert problem_of(refused)["type"].endswith("ngo-access-suspended")
    # Staff are not NGO principals: unaffected.
    assert (
        await client.get("/aid-requests", headers=bearer(settings, "ops_centre"))
    ).status_code == 200
