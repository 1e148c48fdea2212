"""The FastAPI application every service is built on.

`create_service_app` gives each service the same edge: request ids and W3C trace context,
JSON access logs, a body-size limit, Prometheus metrics, problem+json for every error,
`/healthz`, `/readyz`, `/metrics` and OpenAPI at `/docs`. A service adds its routers.

Production hides the unauthenticated `/docs` and `/metrics` unless `CONCORD_PUBLIC_DOCS` /
`CONCORD_PUBLIC_METRICS` say otherwise, and every service refuses a token in a URL
(`?access_token=`, `?token=`): URLs end up in proxy logs, browser history and Referer headers.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl

import structlog
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import select
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import tracing
from shared.auth import public_route
from shared.errors import (
    PROBLEM_CONTENT_TYPE,
    PROBLEM_SCHEMA,
    PROBLEM_TYPE_BASE,
    ConcordError,
    InvalidToken,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    Unavailable,
    problem,
    problem_responses,
)
from shared.events.asyncapi import SCHEMA_ROUTE, asyncapi, event_schema, schema_url
from shared.events.schemas import CATALOG
from shared.logging import configure_logging, get_logger
from shared.metrics import HTTP_LATENCY, HTTP_REQUESTS
from shared.runtime import ServiceRuntime
from shared.state import NgoSuspended, ServiceState, service_state
from shared.tokens import TokenVerifier
from shared.transient import is_transient
from shared.validation import validation_errors, validation_summary

log = get_logger(__name__)


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_CONTENT_TYPE


SCHEMA_CONTENT_TYPE = "application/schema+json"


class SchemaResponse(JSONResponse):
    media_type = SCHEMA_CONTENT_TYPE


def ngo_suspension(runtime: ServiceRuntime, id_column: Any, status_column: Any) -> NgoSuspended:
    """Whether an NGO is suspended, read from the service's own table (one indexed lookup)."""

    async def suspended(ngo_id: uuid.UUID) -> bool:
        async with runtime.sessionmaker() as session:
            status = await session.scalar(select(status_column).where(id_column == ngo_id))
        return bool(status == "suspended")

    return suspended


def create_service_app(
    *,
    title: str,
    description: str,
    runtime: ServiceRuntime,
    routers: Sequence[APIRouter] = (),
    version: str = "0.1.0",
    ngo_status: tuple[Any, Any] | None = None,
) -> FastAPI:
    """`ngo_status`: the (NGO id, vetting status) columns of the service's own NGO table or
    replica; an NGO principal whose NGO is suspended there is refused on every route
    (`shared.auth.refuse_suspended_ngo`).

    The app's state is a `shared.state.ServiceState` (settings, runtime, token verifier, NGO
    suspension); a service adds its own under a `StateKey` after this returns."""
    settings = runtime.settings
    configure_logging(
        service=settings.service_name, level=settings.log_level, json=settings.log_json
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        log.info("service.started", port=settings.port)
        try:
            yield
        finally:
            await runtime.stop()
            log.info("service.stopped")

    docs = settings.docs_are_public
    app = FastAPI(
        title=title,
        description=description,
        version=version,
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.state = ServiceState(
        runtime=runtime,
        # Built here, not on the first request: a key that cannot verify stops the start-up.
        token_verifier=TokenVerifier(settings),
        ngo_suspended=ngo_suspension(runtime, *ngo_status) if ngo_status is not None else None,
    )
    app.add_middleware(
        RequestContextMiddleware,
        service=settings.service_name,
        max_body_bytes=settings.max_body_bytes,
    )
    _install_error_handlers(app)
    app.include_router(_operations_router(metrics=settings.metrics_are_public))
    app.include_router(_contract_router())
    for router in routers:
        app.include_router(router)
    document_errors(app)
    return app


PROBLEM_REF: dict[str, Any] = {"$ref": "#/components/schemas/Problem"}

UNAUTHORIZED_RESPONSE: dict[str, Any] = {
    "description": "No bearer token, or one that is not valid (expired, wrong key, issuer "
    "or audience, too long-lived …): a problem document, with `WWW-Authenticate: Bearer`",
    "content": {PROBLEM_CONTENT_TYPE: {"schema": PROBLEM_REF}},
}

BODY_ERROR_RESPONSES: dict[int, dict[str, Any]] = {
    413: {
        "description": "The body is over the size limit, or the event it would emit is over "
        "the broker's limit (`event-too-large`); nothing was written",
        "content": {PROBLEM_CONTENT_TYPE: {"schema": PROBLEM_REF}},
    },
    422: {
        "description": "The body did not validate (`errors` names each field), or a number "
        "is out of the range an event can carry; nothing was written",
        "content": {PROBLEM_CONTENT_TYPE: {"schema": PROBLEM_REF}},
    },
}


ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "The request is malformed (an `Idempotency-Key` out of bounds …)",
    401: UNAUTHORIZED_RESPONSE["description"],
    403: "The token's roles are not among those the route's policy admits",
    404: "No such object, or not one this principal may see (another tenant's answers the same)",
    409: "The object's state does not allow this (a conflicting or out-of-order change)",
    410: "What this would answer was removed on purpose (retention) and is not coming back",
    412: "`If-Match` names a version that is no longer the current one",
    413: BODY_ERROR_RESPONSES[413]["description"],
    422: "A parameter or the body did not validate (`errors` names each field), or the "
    "input is semantically invalid; nothing was written",
    428: "This change needs `If-Match` with the version read",
    429: "Over this principal's rate limit: retry after `Retry-After` seconds",
    503: "The database, the broker or the identity provider is away: retry after "
    "`Retry-After` seconds; nothing was written",
}

AUTHENTICATED_ERRORS = (400, 401, 403, 404, 409, 412, 422, 428, 429, 503)
"""The statuses every operation that takes a token may answer, documented on each."""


def error_responses(*errors: int | type[ConcordError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` naming each error as problem+json: a status with its generic
    description, or a domain error class, listed under its status with its problem `type`
    and title. `error_responses(404, OfferAlreadyAnswered, OfferLapsed)` documents a 404 and
    a 409 that names both `offer-already-answered` and `offer-expired`, so an integrator sees
    in the document every problem type a route can answer."""
    kinds: dict[int, list[type[ConcordError]]] = {}
    for error in errors:
        status = error if isinstance(error, int) else error.status
        named = kinds.setdefault(status, [])
        if not isinstance(error, int) and error not in named:
            named.append(error)
    described = {}
    for status, named in kinds.items():
        description = ERROR_DESCRIPTIONS[status]
        if named:
            types = "; ".join(f"`{PROBLEM_TYPE_BASE}{k.problem_type}`: {k.title}" for k in named)
            description = f"{description}. Problem types: {types}"
        described[status] = description
    return problem_responses(described)


def document_errors(app: FastAPI) -> None:
    """Name in the OpenAPI document the errors the edge itself answers on every route, all
    as problem+json (the `Problem` schema): on every operation that takes a bearer token
    (those FastAPI marks with a `security` requirement) each of `AUTHENTICATED_ERRORS` (400,
    401, 403, 404, 409, 412, 422, 428, 429, 503) a route did not describe itself; 413 (the
    body limit, the event size limit) and 422 (validation, numbers out of range) on every
    operation that takes a body; FastAPI's default 422 (a JSON shape this edge never sends)
    replaced wherever it appears. `tests/platform/test_api_fuzzing.py` holds every answer
    to the document."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()  # FastAPI keeps it as app.openapi_schema
            schema.setdefault("components", {}).setdefault("schemas", {}).setdefault(
                "Problem", PROBLEM_SCHEMA
            )
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    if not isinstance(operation, dict):
                        continue
                    responses = operation.setdefault("responses", {})
                    # A 422 the route named with `error_responses` (problem+json) stays: it
                    # lists the route's own problem types. FastAPI's shape is never sent.
                    declared_422 = PROBLEM_CONTENT_TYPE in responses.get("422", {}).get(
                        "content", {}
                    )
                    if "422" in responses and not declared_422:
                        responses["422"] = _problem_response(ERROR_DESCRIPTIONS[422])
                    if operation.get("security"):
                        responses.setdefault("401", UNAUTHORIZED_RESPONSE)
                        for status in AUTHENTICATED_ERRORS:
                            responses.setdefault(
                                str(status), _problem_response(ERROR_DESCRIPTIONS[status])
                            )
                    if "requestBody" in operation:
                        responses.setdefault("413", BODY_ERROR_RESPONSES[413])
                        if not declared_422:
                            responses["422"] = BODY_ERROR_RESPONSES[422]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _problem_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_CONTENT_TYPE: {"schema": PROBLEM_REF}}}


URL_TOKEN_PARAMETERS = frozenset({"access_token", "token"})


def _operations_router(*, metrics: bool) -> APIRouter:
    router = APIRouter(tags=["operations"], dependencies=[public_route()])

    @router.get("/healthz", summary="Liveness: the process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        summary="Readiness: the database and Kafka are reachable",
        responses={503: {"description": "Not ready: `checks` names what is unreachable"}},
    )
    async def readyz(request: Request) -> JSONResponse:
        checks = await service_state(request).runtime.ready()
        ready = all(checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not_ready", "checks": checks},
            status_code=200 if ready else 503,
        )

    if metrics:

        @router.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse)
        async def prometheus_metrics() -> Response:
            return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def _contract_router() -> APIRouter:
    """The event contract, public on every service: it describes data, it holds none."""
    router = APIRouter(tags=["event contract"], dependencies=[public_route()])

    @router.get("/events/asyncapi.json", summary="The AsyncAPI document of every Concord event")
    async def events_asyncapi() -> dict[str, Any]:
        return asyncapi()

    @router.get(SCHEMA_ROUTE, summary="Every event type, with the URL of its JSON Schema")
    async def list_event_schemas(request: Request) -> list[dict[str, str]]:
        base = _base_url(request)
        return [
            {
                "type": entry.name,
                "topic": entry.topic.name,
                "audience": entry.topic.audience.value,
                "schema": schema_url(entry.name, base),
            }
            for entry in sorted(CATALOG, key=lambda e: e.name)
        ]

    @router.get(
        SCHEMA_ROUTE + "/{event_type}",
        summary="The JSON Schema of one event type (the whole CloudEvent)",
        response_class=SchemaResponse,
        responses={
            200: {"content": {SCHEMA_CONTENT_TYPE: {}}, "description": "A JSON Schema 2020-12"},
            **problem_responses({404: "No such event type in the catalog"}),
        },
    )
    async def get_event_schema(request: Request, event_type: str) -> SchemaResponse:
        """`event_type` as in the CloudEvent `type` (a trailing `.json` is accepted too). The
        schema's `$id` is the URL it was served from."""
        entry = CATALOG.by_type(event_type.removesuffix(".json"))
        if entry is None:
            raise NotFound(
                f"No event type {event_type!r} in the catalog; {SCHEMA_ROUTE} lists them",
                event_type=event_type,
            )
        return SchemaResponse(event_schema(entry, _base_url(request)))

    return router


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ConcordError)
    async def concord_error(request: Request, exc: ConcordError) -> ProblemResponse:
        headers = None
        if isinstance(exc, InvalidToken):
            headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        elif exc.status == 401:
            headers = {"WWW-Authenticate": "Bearer"}
        if exc.status in (429, 503):
            headers = {"Retry-After": str(exc.extensions.get("retry_after", RETRY_AFTER_SECONDS))}
        return ProblemResponse(
            exc.to_problem(instance=request.url.path), status_code=exc.status, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> ProblemResponse:
        errors = validation_errors(exc.errors())
        summary = validation_summary(exc.errors())
        return ProblemResponse(
            problem(
                status=422,
                problem_type="validation-error",
                title="The request did not validate",
                detail=summary or "The request did not validate",
                instance=request.url.path,
                errors=errors,
            ),
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> ProblemResponse:
        return ProblemResponse(
            problem(
                status=exc.status_code,
                problem_type=f"http-{exc.status_code}",
                title=str(exc.detail) if exc.detail else "HTTP error",
                detail=str(exc.detail),
                instance=request.url.path,
            ),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )


class RequestContextMiddleware:
    """Request id, trace context, body limit, access log and metrics, as plain ASGI."""

    def __init__(self, app: ASGIApp, *, service: str, max_body_bytes: int) -> None:
        self.app = app
        self.service = service
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        request_id = headers.get("x-request-id") or uuid.uuid4().hex
        traceparent = tracing.child_of(headers.get("traceparent"))
        tracing.set_current(traceparent)
        structlog.contextvars.bind_contextvars(
            request_id=request_id, trace_id=tracing.trace_id_of(traceparent)
        )
        started = time.perf_counter()
        status_holder: dict[str, int] = {"status": 500}

        if _token_in_url(scope):
            await _token_in_url_refused(scope, send, request_id)
            return

        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._too_large(scope, send, request_id)
            return

        app_receive = receive
        if declared is None and scope["method"] in ("POST", "PUT", "PATCH"):
            # No Content-Length (chunked upload): read the body here, within the limit, and
            # replay it. Raising from inside the app's receive would surface as a 400.
            body = await self._read_limited(receive)
            if body is None:
                await self._too_large(scope, send, request_id)
                return
            app_receive = _replay(body, receive)

        async def send_with_context(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                status_holder["started"] = 1
                extra = [
                    (b"x-request-id", request_id.encode()),
                    (b"traceparent", traceparent.encode()),
                ]
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        try:
            await self.app(scope, app_receive, send_with_context)
        except Exception as exc:
            if is_transient(exc):
                # The database (or the broker) is away: nothing was committed, and the same
                # request will succeed later. Say so, so that clients retry with their
                # Idempotency-Key instead of giving up on a 500.
                log.warning("http.dependency_unavailable", path=scope["path"], error=repr(exc))
                if "started" not in status_holder:
                    status_holder["status"] = 503
                    await _unavailable(scope, send, request_id)
                return
            # Last line of defence: log with the trace, answer with a problem that gives
            # nothing away, and do not re-raise (the server would log it a second time).
            log.exception("http.unhandled_error", path=scope["path"])
            if "started" not in status_holder:
                status_holder["status"] = 500
                await _internal_error(scope, send, request_id)
        finally:
            route = scope.get("route")
            route_path = getattr(route, "path", "unmatched")
            elapsed = time.perf_counter() - started
            method = scope["method"]
            HTTP_REQUESTS.labels(
                self.service, method, route_path, str(status_holder["status"])
            ).inc()
            HTTP_LATENCY.labels(self.service, method, route_path).observe(elapsed)
            if route_path not in ("/metrics", "/healthz", "/readyz"):
                log.info(
                    "http.request",
                    method=method,
                    path=scope["path"],
                    status=status_holder["status"],
                    duration_ms=round(elapsed * 1000, 1),
                )
            structlog.contextvars.unbind_contextvars("request_id", "trace_id")

    async def _read_limited(self, receive: Receive) -> bytes | None:
        """The whole body, or None as soon as it exceeds the limit."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _too_large(self, scope: Scope, send: Send, request_id: str) -> None:
        body: dict[str, Any] = PayloadTooLarge(
            f"The body is larger than {self.max_body_bytes} bytes",
            max_bytes=self.max_body_bytes,
        ).to_problem(instance=scope["path"])
        response = ProblemResponse(body, status_code=413, headers={"x-request-id": request_id})
        await response(scope, _drain, send)


RETRY_AFTER_SECONDS = 5


def _token_in_url(scope: Scope) -> bool:
    query = scope.get("query_string", b"")
    if not query:
        return False
    pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    return any(name.lower() in URL_TOKEN_PARAMETERS for name, _ in pairs)


async def _token_in_url_refused(scope: Scope, send: Send, request_id: str) -> None:
    body = Unauthorized(
        "Tokens are not accepted in URLs (`?access_token=`, `?token=`): send "
        "`Authorization: Bearer …`; the live stream takes a ticket from POST /api/live/tickets"
    ).to_problem(instance=scope["path"])
    response = ProblemResponse(
        body,
        status_code=401,
        headers={
            "x-request-id": request_id,
            "WWW-Authenticate": 'Bearer error="invalid_request"',
        },
    )
    await response(scope, _drain, send)


async def _unavailable(scope: Scope, send: Send, request_id: str) -> None:
    body = Unavailable(
        "A service this request needs (the database) is unreachable right now; nothing was "
        "changed. Retry with the same Idempotency-Key.",
        retry_after=RETRY_AFTER_SECONDS,
    ).to_problem(instance=scope["path"])
    response = ProblemResponse(
        body,
        status_code=503,
        headers={"x-request-id": request_id, "Retry-After": str(RETRY_AFTER_SECONDS)},
    )
    await response(scope, _drain, send)


async def _internal_error(scope: Scope, send: Send, request_id: str) -> None:
    body = problem(
        status=500,
        problem_type="internal-error",
        title="Internal error",
        detail="Something went wrong on our side; the request id identifies it in our logs.",
        instance=scope["path"],
        request_id=request_id,
    )
    response = ProblemResponse(body, status_code=500, headers={"x-request-id": request_id})
    await response(scope, _drain, send)


async def _drain() -> Message:
    return {"type": "http.disconnect"}


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
