"""Wire types: a spec's ``types:`` JSON Schema fragments → TypedDicts via datamodel-code-generator."""

from __future__ import annotations

import ast
import json
import re
from typing import Any

from specgen.spec.errors import SpecError
from specgen.spec.resolve import ResolvedSpec


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _check_shape(spec: ResolvedSpec, text: str) -> None:
    """Defence in depth: the rendered types are only class bodies of annotations and
    ``Name = TypedDict('Name', {...})`` calls; anything else from the generator is refused."""
    tree = ast.parse(text)
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and all(
            isinstance(item, (ast.AnnAssign, ast.Pass)) or (isinstance(item, ast.Expr) and isinstance(item.value, ast.Constant))
            for item in node.body
        ):
            continue
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name)
            and node.value.func.id == "TypedDict"
        ):
            continue
        value = node.value if isinstance(node, (ast.Assign, ast.AnnAssign)) else None
        if value is not None and not any(isinstance(n, ast.Call) for n in ast.walk(value)):
            continue  # type aliases (`Foo = list[Bar]`, `Foo: TypeAlias = Any`)
        raise SpecError(spec.data.where("types"), f"types: unexpected generated statement {ast.dump(node)[:80]!r}")


def wire_types(spec: ResolvedSpec) -> str:
    types = spec.data.get("types")
    if not types:
        return ""
    schema = {"$defs": {name: _plain(body) for name, body in types.items()}}
    try:
        from datamodel_code_generator import (  # type: ignore[attr-defined]
            DataModelType,
            InputFileType,
            PythonVersion,
            generate,
        )
    except ImportError as exc:  # pragma: no cover - a dependency of the build side
        raise SpecError(spec.data.where("types"), f"types: needs datamodel-code-generator ({exc})") from None
    try:
        code = generate(
            json.dumps(schema, sort_keys=True),
            input_file_type=InputFileType.JsonSchema,
            output_model_type=DataModelType.TypingTypedDict,
            target_python_version=PythonVersion.PY_311,
            disable_timestamp=True,
            use_standard_collections=True,
            use_union_operator=True,
            custom_file_header="",
        )
    except Exception as exc:  # dmcg raises many kinds; report them at the spec
        raise SpecError(spec.data.where("types"), f"types: datamodel-code-generator failed: {exc}") from None
    if not isinstance(code, str):
        raise SpecError(spec.data.where("types"), "types: datamodel-code-generator returned no code")
    body = [
        line
        for line in code.splitlines()
        if not line.startswith(("from __future__", "from typing import", "import ", "#"))
    ]
    text = "\n".join(body).strip()
    # TypedDicts come as `class Foo(TypedDict):`, or as `Foo = TypedDict('Foo', {...})` when a
    # property name is not a Python identifier (`x-request-id`, `class`).
    names = set(re.findall(r"^(?:class (\w+)\(|(\w+) = TypedDict\()", text, flags=re.M))
    names = {a or b for a, b in names}
    _check_shape(spec, text)
    missing = set(types) - names
    if missing:
        raise SpecError(spec.data.where("types"), f"types: no TypedDict generated for {sorted(missing)}")
    return "from typing import NotRequired, TypedDict  # noqa: E402\n\n\n" + text
