"""Errors of the EDXL-RM export."""

from __future__ import annotations

from shared.errors import NotFound


class ExchangeNotFound(NotFound):
    problem_type = "edxl-rm-exchange-not-found"
    title = "No such aid request, or none offered to you"
