"""The schema-evolution guard: what a released event type may and may not change.

A released type (its JSON Schema snapshotted in `docs/events/released/`) is a promise to
every consumer: NGO systems coded against it, and every replica that replays the topic from
the beginning. Both directions must keep working, so a change is compatible only when

- every event produced before the change still validates against the new schema (replays and
  late readers): no new required field, no narrowed type or bound, no removed enum value;
- every event produced after the change still satisfies a consumer coded against the
  released schema: no removed field, no field that stops being required, no widened type.

Two additions are allowed because the contract tells consumers to tolerate them: a new
optional field (ignore fields you do not know) and a new enum value (treat an unknown value
as "other"). Anything else needs a new type, `….v2`, with the released `….v1` still produced
for the deprecation period the catalog states (`DEPRECATION_PERIOD`).

Annotations (`title`, `description`, `default`, `examples`, `$id`, `$schema`, `deprecated`)
are free to change; they do not decide what validates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Schema = dict[str, Any]

_LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")
_EXACT = ("pattern", "format", "multipleOf", "const")
_RESOLVED = "x-resolved-from"  # marks a schema reached through a $ref (for recursion)


@dataclass(frozen=True)
class BreakingChange:
    """One incompatible difference, at a JSON path inside the event (`data.status`)."""

    path: str
    kind: str  # removed field, new required field, no longer required, narrowed type, …
    detail: str

    def __str__(self) -> str:
        return f"{self.path or '(event)'}: {self.kind}: {self.detail}"


def breaking_changes(released: Schema, current: Schema) -> list[BreakingChange]:
    """Every backward-incompatible difference from the released schema to the current one."""
    comparison = _Comparison(released, current)
    comparison.compare(released, current, "")
    return comparison.found


class _Comparison:
    def __init__(self, old_root: Schema, new_root: Schema) -> None:
        self.old_root = old_root
        self.new_root = new_root
        self.found: list[BreakingChange] = []
        # Pairs of $ref already compared: recursive models would otherwise never end.
        self._seen: set[tuple[str, str]] = set()

    def flag(self, path: str, kind: str, detail: str) -> None:
        self.found.append(BreakingChange(path, kind, detail))

    def compare(self, old: Schema, new: Schema, path: str) -> None:
        old_branches = _branches(_resolve(old, self.old_root), self.old_root)
        new_branches = _branches(_resolve(new, self.new_root), self.new_root)
        old_types, new_types = set(old_branches), set(new_branches)
        if old_types != new_types:
            removed, added = sorted(old_types - new_types), sorted(new_types - old_types)
            if not added:
                kind = "narrowed type"
            elif not removed:
                kind = "widened type"
            else:
                kind = "changed type"
            self.flag(path, kind, f"{'|'.join(sorted(old_types))} -> {'|'.join(sorted(new_types))}")
        for json_type in sorted(old_types & new_types):
            old_branch, new_branch = old_branches[json_type], new_branches[json_type]
            refs = (old_branch.get(_RESOLVED, ""), new_branch.get(_RESOLVED, ""))
            if all(refs):
                if refs in self._seen:
                    continue
                self._seen.add(refs)
            self._compare_branch(old_branch, new_branch, path)

    def _compare_branch(self, old: Schema, new: Schema, path: str) -> None:
        self._compare_enum(old, new, path)
        for key in _EXACT:
            if old.get(key) != new.get(key):
                kind = "changed type" if key == "const" else f"changed {key}"
                self.flag(path, kind, f"{old.get(key)!r} -> {new.get(key)!r}")
        for key in _LOWER_BOUNDS:
            self._compare_bound(key, old.get(key), new.get(key), path, higher_is_narrower=True)
        for key in _UPPER_BOUNDS:
            self._compare_bound(key, old.get(key), new.get(key), path, higher_is_narrower=False)
        if "properties" in old or "properties" in new or "required" in old or "required" in new:
            self._compare_object(old, new, path)
        if old.get("additionalProperties", True) != new.get("additionalProperties", True):
            self.flag(
                path,
                "changed additionalProperties",
                f"{old.get('additionalProperties', True)!r} -> "
                f"{new.get('additionalProperties', True)!r}",
            )
        if "items" in old or "items" in new:
            self.compare(old.get("items", {}), new.get("items", {}), f"{path}[]")

    def _compare_enum(self, old: Schema, new: Schema, path: str) -> None:
        old_values, new_values = old.get("enum"), new.get("enum")
        if old_values is None and new_values is None:
            return
        if old_values is None:
            self.flag(path, "narrowed type", f"now limited to {new_values!r}")
        elif new_values is None:
            self.flag(path, "widened type", f"no longer limited to {old_values!r}")
        else:
            removed = [v for v in old_values if v not in new_values]
            if removed:
                self.flag(path, "removed enum value", ", ".join(repr(v) for v in removed))

    def _compare_bound(
        self, key: str, old: Any, new: Any, path: str, *, higher_is_narrower: bool
    ) -> None:
        if old == new:
            return
        if old is None or new is None:
            narrower = old is None
        else:
            narrower = (new > old) if higher_is_narrower else (new < old)
        kind = "narrowed type" if narrower else "widened type"
        self.flag(path, kind, f"{key} {old!r} -> {new!r}")

    def _compare_object(self, old: Schema, new: Schema, path: str) -> None:
        old_props: dict[str, Schema] = old.get("properties", {})
        new_props: dict[str, Schema] = new.get("properties", {})
        old_required, new_required = set(old.get("required", ())), set(new.get("required", ()))
        prefix = f"{path}." if path else ""
        for name, old_prop in old_props.items():
            if name not in new_props:
                self.flag(prefix + name, "removed field", "consumers may read it")
                continue
            self.compare(old_prop, new_props[name], prefix + name)
        for name in sorted(new_required - old_required):
            self.flag(prefix + name, "new required field", "events already produced lack it")
        for name in sorted((old_required - new_required) & set(new_props)):
            self.flag(prefix + name, "no longer required", "consumers rely on its presence")


def _resolve(schema: Schema, root: Schema) -> Schema:
    """Follow local `$ref`s (`#/$defs/Name`) to the schema they name."""
    seen: set[str] = set()
    while "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith("#/") or ref in seen:
            raise ValueError(f"cannot resolve $ref {ref!r}")
        seen.add(ref)
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part]
        # Keywords beside a $ref apply too (pydantic puts `default`, `description` there).
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}, _RESOLVED: ref}
    return schema


def _branches(schema: Schema, root: Schema) -> dict[str, Schema]:
    """The schema split by JSON type: `int | None` is {"integer": …, "null": …}.

    An `anyOf`/`oneOf` contributes each alternative; two alternatives of the same JSON type
    (a union of two object models) are merged into one branch, which is the conservative
    reading for this comparison. An untyped schema with an `enum` or `const` takes its
    type from the values; a schema with no type at all (`Any`) is the branch "any".
    """
    alternatives = schema.get("anyOf") or schema.get("oneOf")
    if alternatives:
        outer = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
        merged: dict[str, Schema] = {}
        for alternative in alternatives:
            resolved = _resolve({**outer, **alternative}, root)
            for json_type, branch in _branches(resolved, root).items():
                merged[json_type] = {**merged.get(json_type, {}), **branch}
        return merged
    declared = schema.get("type")
    if isinstance(declared, list):
        return {t: {**schema, "type": t} for t in declared}
    if isinstance(declared, str):
        return {declared: schema}
    values = schema.get("enum", [schema["const"]] if "const" in schema else None)
    if values:
        return {_json_type(v): schema for v in values}
    return {"any": schema}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
