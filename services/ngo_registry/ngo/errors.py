"""Errors of the NGO domain (each carries its HTTP status through the shared hierarchy)."""

from __future__ import annotations

from shared.errors import Conflict, Unprocessable
from shared.gazetteer import gazetteer


class DuplicateRegistration(Conflict):
    problem_type = "duplicate-registration"
    title = "This registration number is already registered in that country"


class UnknownPcodes(Unprocessable):
    problem_type = "unknown-pcode"
    title = "Unknown P-code"


def check_pcodes(pcodes: list[str], field: str) -> None:
    """422 naming the unknown P-codes and listing the allowed ones."""
    unknown = gazetteer().unknown(pcodes)
    if unknown:
        raise UnknownPcodes(
            f"{field}: unknown P-code(s) {', '.join(unknown)}",
            field=field,
            unknown=unknown,
            allowed=sorted(gazetteer().areas),
        )
