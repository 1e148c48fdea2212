"""Screening against the sanctions list the mission maintains (a CSV file).

Columns: `name,registration_number,country,listed_on,source`. Names match after folding case
and dropping punctuation; registration numbers match exactly per country (any country when
the list leaves it blank). The file is re-read when it changes, so updating the list needs no
restart.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.errors import Unavailable


@dataclass(frozen=True)
class ListedEntity:
    name: str
    registration_number: str
    country: str
    listed_on: str
    source: str


_cache: dict[Path, tuple[float, list[ListedEntity]]] = {}


def normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", name.casefold()).strip()


def load(path: Path) -> list[ListedEntity]:
    try:
        mtime = path.stat().st_mtime
    except OSError as exc:
        # Vetting without the list would be vetting blind: refuse rather than pass.
        raise Unavailable(f"The sanctions list {path} cannot be read: {exc}") from None
    cached = _cache.get(path)
    if cached is not None and cached[0] == mtime:
        return cached[1]
    with path.open(newline="", encoding="utf-8") as handle:
        entities = [
            ListedEntity(
                name=(row.get("name") or "").strip(),
                registration_number=(row.get("registration_number") or "").strip(),
                country=(row.get("country") or "").strip().upper(),
                listed_on=(row.get("listed_on") or "").strip(),
                source=(row.get("source") or "").strip(),
            )
            for row in csv.DictReader(handle)
        ]
    _cache[path] = (mtime, entities)
    return entities


def screen(path: Path, *, names: list[str], registrations: list[tuple[str, str]]) -> dict[str, Any]:
    """The screening result recorded in the review: passed, and every match with its reason."""
    entities = load(path)
    wanted_names = {normalise(n) for n in names if n and normalise(n)}
    matches: list[dict[str, str]] = []
    for entity in entities:
        if entity.name and normalise(entity.name) in wanted_names:
            matches.append(
                {"listed_name": entity.name, "matched_on": "name", "source": entity.source}
            )
            continue
        for country, number in registrations:
            if (
                entity.registration_number
                and entity.registration_number == number
                and (not entity.country or entity.country == country)
            ):
                matches.append(
                    {
                        "listed_name": entity.name,
                        "matched_on": f"registration {country}/{number}",
                        "source": entity.source,
                    }
                )
                break
    return {"passed": not matches, "matches": matches, "list": path.name, "entries": len(entities)}
