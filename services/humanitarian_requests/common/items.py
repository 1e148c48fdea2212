"""A request's items as NGOs read them: the vocabulary's label and code, never the typed text.

A reporter types what is needed ("kits for the women at the clinic"); intake stores that text
with an item code (`shared.vocabulary.ItemCode`: the reporter's, else the conservative match of
the text). Staff read the typed text; every NGO-readable payload (the open listing, offers,
the NGO API views, EDXL-RM, webhooks built from those events) names the item by its code's
label instead. Two items of one request with the same code are numbered ("Other item (1)",
"Other item (2)") so an NGO can still say which one it delivered. The unit is typed too: NGOs
read its canonical spelling (`shared.vocabulary.UNITS`: "pieces" → "piece"), or the generic
"unit" when the typed one is none of them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from shared.events.schemas.humanitarian_requests import RequestItem
from shared.vocabulary import ItemCode, Sector, item_label, match_item, match_unit


def code_of(item: dict[str, Any], sector: str) -> ItemCode:
    """The stored code; a row from before the vocabulary gets the match of its text."""
    stored = item.get("item_code")
    if stored is not None:
        return ItemCode(stored)
    return match_item(str(item.get("item", "")), Sector(sector))


def listed_names(items: Sequence[dict[str, Any]], sector: str) -> list[str]:
    """Each item's NGO-readable name, in order: its label, numbered when the label repeats."""
    labels = [item_label(code_of(item, sector)) for item in items]
    repeated = Counter(labels)
    seen: Counter[str] = Counter()
    names = []
    for label in labels:
        seen[label] += 1
        names.append(f"{label} ({seen[label]})" if repeated[label] > 1 else label)
    return names


def listed_items(items: Sequence[dict[str, Any]], sector: str) -> list[RequestItem]:
    """The items as an NGO reads them: name, code, quantity, canonical unit, delivered so far."""
    return [
        RequestItem(
            item=name,
            item_code=code_of(item, sector),
            quantity=item["quantity"],
            unit=match_unit(str(item["unit"])),
            delivered_quantity=item.get("delivered_quantity", 0.0),
        )
        for name, item in zip(listed_names(items, sector), items, strict=True)
    ]


def delivered_item(items: Sequence[dict[str, Any]], sector: str, name: str) -> int | None:
    """Which item a delivery names: by the name NGOs read, or by the reporter's text (the
    request's own unit and staff know it). None when the request lists no such item."""
    for index, listed in enumerate(listed_names(items, sector)):
        if listed == name:
            return index
    for index, item in enumerate(items):
        if item.get("item") == name:
            return index
    return None
