"""HTTP conventions shared by the services: ETags and If-Match for optimistic concurrency.

An entity that people race on carries an integer `version`, bumped on every change. Reads
return `ETag: "<version>"`; updates must send `If-Match` with the ETag they read. A stale
ETag is 412 (nothing written; the problem names the current ETag), a missing one 428.
"""

from __future__ import annotations

from shared.errors import PreconditionFailed, PreconditionRequired


def etag(version: int) -> str:
    return f'"{version}"'


def check_if_match(if_match: str | None, current_version: int) -> None:
    """Raise unless `If-Match` names the current version (or is `*`)."""
    if if_match is None or not if_match.strip():
        raise PreconditionRequired(
            "Send If-Match with the ETag you last read, so concurrent edits are not lost",
            current_etag=etag(current_version),
        )
    candidates = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
    if "*" in candidates or etag(current_version) in candidates:
        return
    raise PreconditionFailed(
        "The resource was changed by someone else since you read it; read it again and retry",
        current_etag=etag(current_version),
    )
