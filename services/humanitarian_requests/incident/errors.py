"""Errors of incident reports, each with its own problem `type`."""

from __future__ import annotations

from shared.errors import NotFound


class IncidentNotFound(NotFound):
    """No such incident, or another unit's (never revealed)."""

    problem_type = "incident-not-found"
    title = "No such incident"
