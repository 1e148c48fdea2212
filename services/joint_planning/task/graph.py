"""Dependencies between tasks must stay a DAG: a cycle means nobody can ever start."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence


def find_cycle(
    graph: Mapping[uuid.UUID, Sequence[uuid.UUID]],
    task_id: uuid.UUID,
    depends_on: Sequence[uuid.UUID],
) -> list[uuid.UUID] | None:
    """The cycle `task_id → depends_on…` would close, as a path back to `task_id`, or None.

    With `task_id`'s new edges in place, walk from each dependency; reaching `task_id` again
    is a cycle (iterative depth-first search, so a long chain cannot overflow the stack)."""
    edges = {**graph, task_id: list(depends_on)}
    for start in depends_on:
        stack: list[tuple[uuid.UUID, list[uuid.UUID]]] = [(start, [task_id, start])]
        seen: set[uuid.UUID] = set()
        while stack:
            node, path = stack.pop()
            if node == task_id:
                return path
            if node in seen:
                continue
            seen.add(node)
            stack.extend((nxt, [*path, nxt]) for nxt in edges.get(node, ()))
    return None
