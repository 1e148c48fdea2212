"""The app's typed state: every service's app holds a complete `ServiceState`, read typed
through `service_state`, and a missing attribute or key says what is missing."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Request
from starlette.applications import Starlette

from deploy.services import SERVICES, ServiceSpec
from services.monitoring.live import BROADCASTER, Broadcaster
from services.ngo_registry.config import Settings as RegistrySettings
from shared.config import ServiceSettings
from shared.deps import settings_dependency
from shared.ratelimit import RATE_LIMITS, TokenBucket
from shared.runtime import ServiceRuntime
from shared.state import MissingState, ServiceState, StateKey, service_state, settings_of
from shared.tokens import TokenVerifier
from shared.web import create_service_app

RegistryAppSettings = Annotated[RegistrySettings, Depends(settings_dependency(RegistrySettings))]
"""As a service declares it in its `common/deps.py` (at module level: FastAPI resolves the
string annotations of a route against its module)."""


def build_app(spec: ServiceSpec) -> FastAPI:
    """The service's app as `uvicorn --factory` builds it (not started: no connection)."""
    module_name, factory_name = spec.app_factory.split(":")
    factory: Callable[[ServiceSettings], FastAPI] = getattr(
        importlib.import_module(module_name), factory_name
    )
    return factory(spec.settings_class.model_construct())


@pytest.mark.parametrize("spec", SERVICES, ids=lambda spec: spec.name)
def test_every_service_app_holds_a_complete_typed_state(spec: ServiceSpec) -> None:
    app = build_app(spec)
    state = service_state(app)
    assert isinstance(state, ServiceState)
    assert isinstance(state.settings, spec.settings_class)
    assert isinstance(settings_of(app, spec.settings_class), spec.settings_class)
    assert isinstance(state.runtime, ServiceRuntime)
    assert state.runtime.settings is state.settings
    assert isinstance(state.token_verifier, TokenVerifier)
    # Every service keeps an NGO table or replica: a suspended NGO is refused on every route.
    assert state.ngo_suspended is not None
    # Attribute access on app.state, as the tests and tools use it, reads the same objects.
    assert app.state.runtime is state.runtime
    assert app.state.settings is state.settings


def test_a_service_adds_its_own_under_a_typed_key() -> None:
    app = build_app(next(spec for spec in SERVICES if spec.name == "monitoring"))
    broadcaster = service_state(app).get(BROADCASTER)
    assert isinstance(broadcaster, Broadcaster)
    assert app.state.broadcaster is broadcaster
    assert service_state(app).keys() == ["broadcaster"]


def test_a_missing_attribute_or_key_says_what_is_missing() -> None:
    app = build_app(next(spec for spec in SERVICES if spec.name == "ngo_registry"))
    with pytest.raises(MissingState, match=r"no 'broadcaster'.*settings, runtime"):
        _ = app.state.broadcaster
    with pytest.raises(MissingState, match=r"StateKey\('nothing_here'\)"):
        service_state(app).get(StateKey[int]("nothing_here"))
    with pytest.raises(AttributeError):  # MissingState is an AttributeError: getattr defaults
        _ = app.state.nothing_here
    assert getattr(app.state, "nothing_here", None) is None


def test_an_app_not_built_by_the_platform_has_no_service_state() -> None:
    with pytest.raises(MissingState, match="create_service_app"):
        service_state(Starlette())


def test_a_key_cannot_shadow_an_attribute_of_the_state() -> None:
    with pytest.raises(ValueError, match="attribute of ServiceState"):
        StateKey[object]("runtime")


def test_the_rate_limits_are_created_once_on_first_use() -> None:
    app = build_app(next(spec for spec in SERVICES if spec.name == "humanitarian_requests"))
    state = service_state(app)
    with pytest.raises(MissingState):
        state.get(RATE_LIMITS)
    created: list[int] = []

    def create() -> dict[str, TokenBucket]:
        created.append(1)
        return {"intake": TokenBucket(per_minute=60, burst=1)}

    first = state.get_or_create(RATE_LIMITS, create)
    assert state.get_or_create(RATE_LIMITS, create) is first
    assert created == [1]


async def test_a_route_reads_its_settings_and_the_state_through_dependencies() -> None:
    runtime = service_state(build_app(SERVICES[0])).runtime
    assert isinstance(runtime.settings, RegistrySettings)
    router = APIRouter()

    @router.get("/probe")
    async def probe(settings: RegistryAppSettings, request: Request) -> dict[str, object]:
        return {
            "service": settings.service_name,
            "same_runtime": service_state(request).runtime is runtime,
        }

    app = create_service_app(title="probe", description="", runtime=runtime, routers=[router])
    assert service_state(app).ngo_suspended is None  # no NGO table named: nobody refused
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://probe") as client:
        answer = await client.get("/probe")
    assert answer.status_code == 200
    assert answer.json() == {"service": "ngo_registry", "same_runtime": True}


def test_settings_of_another_class_are_refused() -> None:
    class OtherSettings(ServiceSettings):
        pass

    app = build_app(SERVICES[0])
    with pytest.raises(TypeError, match="not a OtherSettings"):
        settings_of(app, OtherSettings)
