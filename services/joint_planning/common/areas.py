"""P-codes of the shared gazetteer: validation and the containment the domain relies on."""

from __future__ import annotations

from collections.abc import Iterable

from shared.errors import Unprocessable
from shared.gazetteer import gazetteer


class UnknownPcodes(Unprocessable):
    problem_type = "unknown-pcode"
    title = "Unknown P-code"


def check_pcodes(pcodes: Iterable[str], field: str) -> list[str]:
    """The P-codes without duplicates, in order; 422 naming the unknown ones otherwise."""
    unique = list(dict.fromkeys(pcodes))
    unknown = gazetteer().unknown(unique)
    if unknown:
        raise UnknownPcodes(
            f"{field}: unknown P-code(s) {', '.join(unknown)}",
            field=field,
            unknown=unknown,
            allowed=sorted(gazetteer().areas),
        )
    return unique


def counties_in(areas: Iterable[str]) -> list[str]:
    """Every county (admin2) inside any of the areas (a county is inside itself)."""
    gaz = gazetteer()
    wanted = set(areas)
    return sorted(a.pcode for a in gaz.at_level(2) if wanted.intersection(gaz.ancestors(a.pcode)))


def with_ancestors(pcodes: Iterable[str]) -> list[str]:
    """The areas and every area containing them: what an operation area may be named as."""
    gaz = gazetteer()
    return sorted({ancestor for p in pcodes for ancestor in gaz.ancestors(p)})


def related(pcodes: Iterable[str]) -> list[str]:
    """Areas that overlap any of `pcodes`: the areas themselves, above them, and inside them."""
    gaz = gazetteer()
    wanted = set(pcodes)
    return sorted(
        a.pcode
        for a in gaz.areas.values()
        if wanted.intersection(gaz.ancestors(a.pcode)) or a.pcode in with_ancestors(wanted)
    )


def overlapping(first: Iterable[str], second: Iterable[str]) -> list[str]:
    """For each pair of areas of which one contains the other, the more specific one."""
    gaz = gazetteer()
    found: set[str] = set()
    second = list(second)
    for a in first:
        for b in second:
            if gaz.covers(a, b):
                found.add(b)
            elif gaz.covers(b, a):
                found.add(a)
    return sorted(found)


def name_of(pcode: str) -> str:
    area = gazetteer().get(pcode)
    return area.name if area is not None else pcode
