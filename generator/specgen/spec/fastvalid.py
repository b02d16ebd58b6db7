"""A fast "is this merged spec valid?" that skips what its parent already proved.

A child spec merged over its parent (``extends``) shares, by identity, every subtree it does not
touch: ``_merge`` copies the parent's nodes, it does not rebuild them. Once the parent's merged
spec has passed the JSON Schema, those shared subtrees are known to be valid at the same place in
the schema, so validating a hundred children of ``openai`` need not walk ``openai``'s params,
stream and error table a hundred times.

:func:`fast_valid` walks the child's merged spec beside its (already valid) parent's: a subtree
that *is* the parent's is skipped; one whose schema is a plain object schema (``type``,
``properties``, ``additionalProperties``, ``required``, nothing else that constrains) is checked
key by key here; anything else is handed to the full validator. It only answers yes or no: on no,
the caller runs the full validation, whose errors (with their ``file:line:column``) are the ones
reported. So a mistake here can cost time, never a wrong error message; and it can only say yes
where the full validator would (a shared subtree is the same object the full validator passed).
"""

from __future__ import annotations

from typing import Any

__all__ = ["fast_valid"]

#: schema keywords that do not constrain an object's keys or values beyond what is checked here
_PLAIN = frozenset({"$id", "$schema", "$defs", "type", "properties", "additionalProperties", "required", "description", "title", "$comment", "default", "markdownDescription"})


def fast_valid(validator: Any, data: Any, parent: Any) -> bool:
    """True when ``data`` (a merged spec) is valid against ``validator``'s schema, given that
    ``parent`` (the merged spec it extends) is valid."""
    root = validator.schema
    return _check(validator, root, root, data, parent)


def _resolve(root: dict[str, Any], schema: Any) -> Any:
    seen = 0
    while isinstance(schema, dict) and set(schema) <= {"$ref", "description"} and "$ref" in schema and seen < 8:
        ref = schema["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/"):
            return schema
        target: Any = root
        for part in ref[2:].split("/"):
            if not isinstance(target, dict) or part not in target:
                return schema
            target = target[part]
        schema, seen = target, seen + 1
    return schema


def _check(validator: Any, root: dict[str, Any], schema: Any, node: Any, parent: Any) -> bool:
    if node is parent and parent is not None:
        return True  # the very object the parent's validation passed, at the same schema path
    schema = _resolve(root, schema)
    plain = (
        isinstance(schema, dict)
        and set(schema) <= _PLAIN
        and schema.get("type", "object") == "object"
        and isinstance(node, dict)
        and not isinstance(node, bool)
    )
    if not plain:
        return bool(validator.evolve(schema={**schema, "$defs": root.get("$defs", {})}).is_valid(node)) if isinstance(schema, dict) else False
    props = schema.get("properties") or {}
    extra = schema.get("additionalProperties", True)
    if any(key not in node for key in schema.get("required") or ()):
        return False
    for key, value in node.items():
        sub = props.get(key, extra)
        if sub is False:
            return False
        if sub is True:
            continue
        theirs = parent.get(key) if isinstance(parent, dict) else None
        if not _check(validator, root, sub, value, theirs):
            return False
    return True
