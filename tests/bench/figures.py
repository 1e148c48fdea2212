"""Figures as the bench reports them: a value, its goal, and the machine's load beside it."""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from typing import Any


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile; NaN for no samples (printed as such, never as a good number)."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def load_average() -> float:
    return os.getloadavg()[0]


@dataclass
class Figure:
    name: str
    value: float | int | str
    goal: str = ""  # e.g. ">= 0.5"; empty for a figure kept for the record
    load: float = 0.0  # 1-minute load average when it was measured (2 cores)
    note: str = ""

    @property
    def text(self) -> str:
        if isinstance(self.value, float):
            if math.isnan(self.value):
                return "nan"
            return f"{self.value:.3f}" if abs(self.value) < 10 else f"{self.value:.1f}"
        return str(self.value)

    @property
    def verdict(self) -> str:
        if not self.goal or not isinstance(self.value, int | float) or math.isnan(self.value):
            return ""
        op, _, bound = self.goal.partition(" ")
        limit = float(bound)
        met = self.value >= limit if op == ">=" else self.value <= limit
        return "met" if met else "NOT met"

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["verdict"] = self.verdict
        if isinstance(self.value, float) and math.isnan(self.value):
            data["value"] = None
        return data


class Figures:
    """An ordered collection; `add` stamps the load average of the moment."""

    def __init__(self) -> None:
        self.items: dict[str, Figure] = {}

    def add(
        self,
        name: str,
        value: float | int | str,
        *,
        goal: str = "",
        note: str = "",
        load: float | None = None,
    ) -> None:
        self.items[name] = Figure(name, value, goal, load_average() if load is None else load, note)

    def update(self, other: Figures) -> None:
        self.items.update(other.items)

    def table(self) -> str:
        width = max((len(n) for n in self.items), default=10)
        lines = [
            f"{'figure':<{width}}  {'value':>10}  {'goal':>7}  {'verdict':<7}  {'load':>5}  note"
        ]
        for f in self.items.values():
            lines.append(
                f"{f.name:<{width}}  {f.text:>10}  {f.goal:>7}  {f.verdict:<7}  "
                f"{f.load:5.1f}  {f.note}"
            )
        return "\n".join(lines)

    def lines(self) -> str:
        return "\n".join(f"{f.name}={f.text}" for f in self.items.values())
