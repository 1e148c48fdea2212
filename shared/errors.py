"""One error hierarchy, rendered once as RFC 9457 `application/problem+json`.

A domain raises `NotFound`, `Conflict`, `PreconditionFailed` …; the class carries the HTTP
status and a stable problem `type`, so routers never build error responses by hand. Payload
validation is the only source of 422 apart from `Unprocessable`, which domain code raises for
semantically invalid input (an unknown P-code, dates out of order) that pydantic cannot see.
"""

from __future__ import annotations

from typing import Any, ClassVar

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://concord.example.org/problems/"


class ConcordError(Exception):
    """Base of every error a Concord service turns into a problem response."""

    status: ClassVar[int] = 500
    problem_type: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        return problem(
            status=self.status,
            problem_type=self.problem_type,
            title=self.title,
            detail=self.detail,
            instance=instance,
            **self.extensions,
        )


class BadRequest(ConcordError):
    status = 400
    problem_type = "bad-request"
    title = "Bad request"


class Unauthorized(ConcordError):
    status = 401
    problem_type = "unauthorized"
    title = "Authentication required"


class InvalidToken(Unauthorized):
    """A token was presented but cannot be trusted (RFC 6750 `invalid_token`)."""

    problem_type = "invalid-token"
    title = "The token is not valid"


class Forbidden(ConcordError):
    status = 403
    problem_type = "forbidden"
    title = "Not allowed"


class NotFound(ConcordError):
    status = 404
    problem_type = "not-found"
    title = "Not found"


class Conflict(ConcordError):
    status = 409
    problem_type = "conflict"
    title = "Conflict"


class InvalidTransition(Conflict):
    problem_type = "invalid-transition"
    title = "Transition not allowed from the current state"


class Gone(ConcordError):
    """What was here existed and was removed on purpose (retention): asking again will not
    bring it back."""

    status = 410
    problem_type = "gone"
    title = "No longer available"


class PreconditionFailed(ConcordError):
    status = 412
    problem_type = "precondition-failed"
    title = "The resource changed since you read it"


class PreconditionRequired(ConcordError):
    status = 428
    problem_type = "precondition-required"
    title = "If-Match is required"


class PayloadTooLarge(ConcordError):
    status = 413
    problem_type = "payload-too-large"
    title = "Request body too large"


class Unprocessable(ConcordError):
    status = 422
    problem_type = "unprocessable"
    title = "The request is well-formed but cannot be processed"


class IdempotencyKeyReused(Unprocessable):
    problem_type = "idempotency-key-reused"
    title = "Idempotency-Key reused with a different request"


class TooManyRequests(ConcordError):
    """Over a rate limit; `retry_after` (seconds) becomes the `Retry-After` header."""

    status = 429
    problem_type = "too-many-requests"
    title = "Too many requests"


class Unavailable(ConcordError):
    status = 503
    problem_type = "unavailable"
    title = "Service unavailable"


def problem(
    *,
    status: int,
    problem_type: str,
    title: str,
    detail: str,
    instance: str | None = None,
    **extensions: Any,
) -> dict[str, Any]:
    """Build an RFC 9457 problem document."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + problem_type,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update(extensions)
    return body


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
    },
    "additionalProperties": True,
}


def problem_responses(described: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for error statuses, each documented as problem+json."""
    return {
        status: {
            "description": description,
            "content": {PROBLEM_CONTENT_TYPE: {"schema": PROBLEM_SCHEMA}},
        }
        for status, description in described.items()
    }
