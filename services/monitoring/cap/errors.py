"""Errors of the CAP alert feed."""

from __future__ import annotations

from shared.errors import NotFound


class CapMessageNotFound(NotFound):
    problem_type = "cap-message-not-found"
    title = "No such CAP message"
