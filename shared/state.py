"""The typed state of a service's app: what `create_service_app` builds once, every request reads.

Starlette's `app.state` takes any attribute and gives back `Any`, so a typo or a state a
test forgot to set is found on the first request that reads it. `ServiceState` is that same
object (a `State`: `app.state.runtime` keeps working) with its attributes declared, set
together when the app is built; `service_state(request)` gives it back typed:

    runtime = service_state(request).runtime

Routes take the settings through their service's `AppSettings` dependency
(`shared.deps.settings_dependency`), not through the state.

What a service or a platform module keeps beside those goes under a typed key, the way
aiohttp's `AppKey` does, so it needs neither `Any` nor a subclass per service:

    BROADCASTER: StateKey[Broadcaster] = StateKey("broadcaster")
    service_state(app).set(BROADCASTER, broadcaster)  # in create_app
    service_state(request).get(BROADCASTER)            # typed Broadcaster

The value is kept under the key's name too, so `app.state.broadcaster` still reads it.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from starlette.applications import Starlette
from starlette.datastructures import State
from starlette.requests import HTTPConnection

from shared.config import ServiceSettings
from shared.runtime import ServiceRuntime
from shared.tokens import TokenVerifier

T = TypeVar("T")

ATTRIBUTES = ("settings", "runtime", "token_verifier", "ngo_suspended")
"""ServiceState's own attributes, set when the app is built; no key may take their names."""

NgoSuspended = Callable[[uuid.UUID], Awaitable[bool]]
"""Whether an NGO's access is suspended, as the service knows it (`ServiceState.ngo_suspended`,
set by `shared.web.create_service_app` from the service's own NGO table or replica)."""


class StateKey(Generic[T]):
    """A typed slot in the app's state for what one service or module adds of its own.

    Declare it once, at module level, beside what it holds (`StateKey[Broadcaster]`); the
    name is what `app.state.<name>` reads, and may not be one of `ServiceState`'s own."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        if name in ATTRIBUTES or name.startswith("_"):
            raise ValueError(f"{name!r} is an attribute of ServiceState, not a free key")
        self.name = name

    def __repr__(self) -> str:
        return f"StateKey({self.name!r})"


class MissingState(AttributeError):
    """The app's state has no such attribute or key: the app was not built by
    `create_service_app`, or the service's `create_app` did not set the key."""


class ServiceState(State):
    """What every service's app holds, typed. Built by `shared.web.create_service_app`."""

    settings: ServiceSettings
    """The service's settings (its own `Settings` subclass; routes take them typed through
    the service's `AppSettings` dependency)."""
    runtime: ServiceRuntime
    """The engine, session factory, producer, relay, consumers and loops the lifespan runs."""
    token_verifier: TokenVerifier
    """Checks bearer tokens; built with the app, so a key that cannot verify stops start-up."""
    ngo_suspended: NgoSuspended | None
    """Whether an NGO is suspended, from the service's own NGO table or replica; None in a
    service that keeps no NGO table (then no NGO principal is refused for suspension)."""

    def __init__(
        self,
        *,
        runtime: ServiceRuntime,
        token_verifier: TokenVerifier,
        ngo_suspended: NgoSuspended | None = None,
    ) -> None:
        super().__init__()
        self.settings = runtime.settings
        self.runtime = runtime
        self.token_verifier = token_verifier
        self.ngo_suspended = ngo_suspended

    def __getattr__(self, name: str) -> Any:
        try:
            return self._state[name]
        except KeyError:
            raise MissingState(
                f"The app's state has no {name!r}: ServiceState holds "
                f"{', '.join(ATTRIBUTES)} and the keys its service set "
                f"({', '.join(self.keys()) or 'none'})"
            ) from None

    def get(self, key: StateKey[T]) -> T:
        """The value set under `key`; `MissingState` if none was."""
        try:
            value: T = self._state[key.name]
        except KeyError:
            raise MissingState(
                f"The app's state has no {key!r}: the service's create_app sets it"
            ) from None
        return value

    def set(self, key: StateKey[T], value: T) -> None:
        self._state[key.name] = value

    def get_or_create(self, key: StateKey[T], create: Callable[[], T]) -> T:
        """The value under `key`, created by `create()` on first use (requests run on one
        event loop: two cannot both find it missing between the read and the write)."""
        if key.name not in self._state:
            self._state[key.name] = create()
        return self.get(key)

    def keys(self) -> list[str]:
        """The names of the keys set beside ServiceState's own attributes."""
        return [name for name in self._state if name not in ATTRIBUTES]


def service_state(source: HTTPConnection | Starlette) -> ServiceState:
    """The typed state of the app serving `source` (a request, a websocket or the app
    itself); `MissingState` if the app was not built by `create_service_app`."""
    app = source if isinstance(source, Starlette) else source.app
    state = app.state
    if not isinstance(state, ServiceState):
        raise MissingState(
            f"{type(app).__name__}.state is a {type(state).__name__}, not a ServiceState: "
            "build the app with shared.web.create_service_app"
        )
    return state


def settings_of(source: HTTPConnection | Starlette, kind: type[T]) -> T:
    """The app's settings as the service's own `Settings` class (`kind`); `TypeError` if
    the app was built with another service's settings."""
    settings = service_state(source).settings
    if not isinstance(settings, kind):
        raise TypeError(
            f"The app's settings are a {type(settings).__name__}, not a {kind.__name__}"
        )
    return settings
