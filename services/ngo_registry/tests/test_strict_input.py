"""Every level of a registry body refuses unknown fields and NUL characters with 422, and
nothing is written: before, a NUL in a name reached Postgres and was a 500."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from services.ngo_registry.config import Settings
from services.ngo_registry.tests.helpers import ngo_profile, staff
from shared.testing import problem_of

pytestmark = pytest.mark.integration


async def test_unknown_fields_and_nul_are_422_at_every_level(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    headers = staff(settings)
    body = ngo_profile()
    contact = body["contacts"][0]
    registration = body["registrations"][0]
    bad_bodies: dict[str, dict[str, Any]] = {
        "top-level field": {**body, "shadow": True},
        "nested contact field": {**body, "contacts": [{**contact, "shadow": 1}]},
        "nested registration field": {**body, "registrations": [{**registration, "x": 1}]},
        "nested capacity field": {
            **body,
            "capacities": [{"resource": "staff", "quantity": 1, "unit": "p", "x": 1}],
        },
        "NUL in name": {**body, "name": "Relief\x00Org"},
        "NUL in a contact": {**body, "contacts": [{**contact, "name": "Gr\x00ace"}]},
    }
    for name, bad in bad_bodies.items():
        refused = await client.post("/ngos", json=bad, headers=headers)
        assert refused.status_code == 422, (name, refused.text)
        problem_of(refused)
    # The control: the same body without the flaw is accepted.
    created = await client.post("/ngos", json=body, headers=headers)
    assert created.status_code == 201, created.text
