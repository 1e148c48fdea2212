"""Errors several domains of this service raise (requests and incidents alike)."""

from __future__ import annotations

from shared.errors import (
    BadRequest,
    Forbidden,
    Gone,
    IdempotencyKeyReused,
    PayloadTooLarge,
    Unprocessable,
)


class ReclassificationRefused(Unprocessable):
    """Unchanged, or below the derived minimum of the record's content."""

    problem_type = "reclassification-refused"
    title = "The sensitivity cannot be changed to that class"


class UnknownPcode(Unprocessable):
    """A P-code the gazetteer does not know (`allowed` lists the known ones)."""

    problem_type = "unknown-pcode"
    title = "Unknown P-code"


class LocationOutOfBounds(Unprocessable):
    problem_type = "location-out-of-bounds"
    title = "The coordinates are outside the mission area"


class NotAReporter(Forbidden):
    problem_type = "not-a-reporter"
    title = "Only field units and the operations centre submit reports"


class InvalidIdempotencyKey(BadRequest):
    problem_type = "invalid-idempotency-key"
    title = "The Idempotency-Key is not usable"


class BatchTooLarge(PayloadTooLarge):
    """More items than the configured maximum (`max_items`)."""

    problem_type = "batch-too-large"
    title = "The batch holds too many items"


class SelfLink(Unprocessable):
    problem_type = "self-link"
    title = "A report cannot be a duplicate of itself"


class UnknownLinkTarget(Unprocessable):
    problem_type = "unknown-link-target"
    title = "No report with that id to link to"


class StoredResponsePurged(Gone):
    """A retry of a key whose first response was purged under the retention policy
    (`retention/service.py`): the record it showed is anonymised, so it is not replayed, and
    the work is not done a second time either."""

    problem_type = "idempotent-response-purged"
    title = "The first response to this Idempotency-Key was purged"


IDEMPOTENCY_ERRORS = (InvalidIdempotencyKey, IdempotencyKeyReused, StoredResponsePurged)
"""What a POST with an `Idempotency-Key` may answer about the key itself."""

INTAKE_ERRORS = (NotAReporter, UnknownPcode, LocationOutOfBounds, *IDEMPOTENCY_ERRORS)
"""What submitting a report may answer beyond payload validation."""
