"""Property tests: spec strings reach generated code only as literals.

A schema-valid spec full of hostile text (quotes, triple quotes, backslashes,
line ends of every kind, ``#``, template braces, unicode) must render to a
module that compiles, whose code apart from string constants is exactly that of
the same spec with benign strings, and in which every string comes back as
itself: ``DEFAULT_BASE_URL``, ``MODELS``, request headers and body keys,
error-table rows, finish-reason maps, model patterns.
"""

from __future__ import annotations

import ast
import builtins
import fnmatch
import importlib.util
import io
import itertools
import json
import os
import re
import shutil
import subprocess
import tempfile
import tokenize
import typing
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from specgen.build.compiler import RUFF_FORMAT, build
from specgen.spec.errors import SpecErrors
from specgen_runtime import errors as rt_errors

from strategies import TOKEN_RE, header_names, header_values, hostile_text, json_values

NAME = "hprov"  # the spec's name: its file stem and the generated module's name
API_KEY = "sk-specgen-property-test-key-0000"  # registered as a secret by build_request; keep it unusual
BASE = "https://example.test/v1"
RESERVED_PARAMS = {"model", "messages", "stream", "extra_headers", "extra_body"}  # taken before the param table
UNKNOWN_PARAM = "specgen_unknown_param_\u2603"
RESERVED_HEADERS = {"content-type", "authorization", "host", "content-length", "transfer-encoding", "connection"}
FINISH_VALUES = ["stop", "length", "tool_calls", "content_filter", "function_call"]
ASCII_SWAPCASE = str.maketrans("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


# ---------------------------------------------------------------------------- the spec under test


@dataclass
class Hostile:
    display_name: str
    docs: str | list[str]
    base_url: str
    headers: list[tuple[str, str]]
    params: list[tuple[str, str, Any]]  # (name, "map" | "nested" | "drop", value sent)
    patterns: list[str]
    rule_drop: list[str]
    finish_map: list[tuple[str, str]]
    error_code: str
    error_match: str
    model_ids: list[str]
    match_context: tuple[str, str] = ("", "")  # text around the match in the probing error message


def make_spec(h: Hostile, f: Callable[[str], str] = lambda s: s) -> dict[str, Any]:
    """The spec for ``h``; ``f`` maps every hostile string (a benign twin passes placeholders)."""
    params: dict[str, Any] = {}
    for i, (name, kind, _) in enumerate(h.params):
        params[f(name)] = {"drop": {"unsupported": "drop"}, "map": {"to": f"hx{i}"}, "nested": {"to": f"cfg.hx{i}"}}[kind]
    return {
        "spec_version": 1,
        "name": NAME,
        "display_name": f(h.display_name),
        "docs": f(h.docs) if isinstance(h.docs, str) else [f(d) for d in h.docs],
        "base_url": f(h.base_url),
        "auth": {"type": "bearer"},
        "headers": {k: f(v) for k, v in h.headers},
        "modes": {
            "chat": {
                "endpoint": {"method": "POST", "path": "/chat/completions"},
                "format": "openai",
                "unsupported": "refuse",
                "params": params,
                "model_rules": [{"models": [f(p) for p in h.patterns], "drop": [f(d) for d in h.rule_drop]}],
                "response": {"finish_reason": {"map": {f(k): v for k, v in h.finish_map}}},
                "stream": {"protocol": "sse", "flag": "stream", "terminator": "[DONE]", "format": "openai", "error_key": "error"},
            }
        },
        "errors": {
            "message": "error.message",
            "code": "error.code",
            "table": [
                {"code": f(h.error_code), "raise": "ContentPolicyViolationError"},
                {"match": f(h.error_match), "raise": "ContextWindowExceededError"},
                {"status": 401, "raise": "AuthenticationError"},
            ],
        },
        "models": {"known": [{"id": f(m), "context_window": 1000 + i} for i, m in enumerate(h.model_ids)]},
    }


def benign_twin(h: Hostile) -> dict[str, Any]:
    counter = itertools.count()
    return make_spec(h, lambda s: f"benign{next(counter)}")


def _unique(xs: list[str]) -> list[str]:
    return list(dict.fromkeys(xs))


@st.composite
def hostile_specs(draw: st.DrawFn) -> Hostile:
    text = hostile_text()
    names = _unique(draw(st.lists(text, min_size=1, max_size=5)))
    names = [n for n in names if n not in RESERVED_PARAMS and n != UNKNOWN_PARAM] or ["p\"'\\\n{{x}}#"]
    kinds = [draw(st.sampled_from(["map", "map", "nested", "drop"])) for _ in names]
    values = [draw(json_values.filter(lambda v: v is not None)) for _ in names]
    header_list: list[tuple[str, str]] = []
    seen: set[str] = set()
    for hname in draw(st.lists(header_names(), max_size=4)):
        if hname.lower() in seen or hname.lower() in RESERVED_HEADERS:
            continue
        seen.add(hname.lower())
        header_list.append((hname, draw(header_values())))
    rule_drop = [d for d in _unique(draw(st.lists(text, max_size=3))) if d not in names and d != UNKNOWN_PARAM]
    return Hostile(
        display_name=draw(text),
        docs=draw(st.one_of(text, st.lists(text, max_size=3))),
        # braces in a base URL are template variables (https://{resource}.example): left out here
        base_url=draw(text).replace("{", "(").replace("}", ")"),
        headers=header_list,
        params=list(zip(names, kinds, values, strict=True)),
        patterns=draw(st.lists(text, min_size=1, max_size=3)),
        rule_drop=rule_drop,
        finish_map=[(k, draw(st.sampled_from(FINISH_VALUES))) for k in _unique(draw(st.lists(text, max_size=3)))],
        error_code=draw(text),
        error_match=draw(hostile_text(min_size=1)),
        model_ids=_unique(draw(st.lists(text, min_size=1, max_size=4))),
        match_context=(draw(text), draw(text)),
    )


# ---------------------------------------------------------------------------- build and import


_counter = itertools.count()


def import_file(path: Path) -> ModuleType:
    """Import a generated module under a fresh name (never cached in sys.modules)."""
    name = f"_specgen_prop_{os.getpid()}_{next(_counter)}_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextmanager
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="specgen-prop-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def dump_spec(spec: dict[str, Any]) -> str:
    # allow_unicode=False: PyYAML does not round-trip some characters (NEL) when writing them raw
    text = yaml.safe_dump(spec, sort_keys=False, allow_unicode=False)
    assert yaml.safe_load(text) == spec, "PyYAML did not round-trip the generated spec"
    return text


def build_spec(spec: dict[str, Any], root: Path, folder: str = "specs") -> Path:
    """Write ``spec`` as <root>/<folder>/hprov.yaml, build into <root>/out; the generated file."""
    specs_dir = root / folder
    specs_dir.mkdir(parents=True)
    (specs_dir / f"{NAME}.yaml").write_text(dump_spec(spec), encoding="utf-8")
    out = root / "out"
    build(specs_dir, out)
    return out / f"{NAME}.py"


# ---------------------------------------------------------------------------- code-shape helpers


def _shape(text: str) -> str:
    """The AST with every string constant blanked: what the code does, not what it says."""

    class Blank(ast.NodeTransformer):
        def visit_Constant(self, node: ast.Constant) -> ast.AST:
            if isinstance(node.value, str):
                return ast.copy_location(ast.Constant(value="<str>"), node)
            return node

    return ast.dump(Blank().visit(ast.parse(text)), include_attributes=False)


def _str_constants(tree: ast.AST) -> set[str]:
    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def _code_tokens(text: str) -> tuple[list[tuple[int, str]], list[str]]:
    """Tokens other than strings and comments, and the comments. Generated code is formatted by
    ruff, whose line breaks (and the trailing comma it adds to a wrapped collection) follow the
    literals' lengths: layout is left out, so the code of a hostile spec and of its benign twin
    compare equal token by token."""
    code: list[tuple[int, str]] = []
    comments: list[str] = []
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.COMMENT:
            comments.append(tok.string)
        elif tok.type not in (tokenize.STRING, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
            if tok.string in (")", "]", "}") and code and code[-1] == (tokenize.OP, ","):
                code.pop()  # a magic trailing comma
            code.append((tok.type, tok.string))
    return code, comments


def _names(tree: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)
    }


# ---------------------------------------------------------------------------- the property


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(hostile_specs())
def test_hostile_spec_strings_come_back_as_literals(h: Hostile) -> None:
    spec = make_spec(h)
    with workdir() as root:
        try:
            path = build_spec(spec, root / "hostile")
        except SpecErrors as exc:  # pragma: no cover - a failure here is the finding
            pytest.fail(f"build rejected a schema-valid spec: {exc}")
        text = path.read_text(encoding="utf-8")
        benign_text = build_spec(benign_twin(h), root / "benign").read_text(encoding="utf-8")
        module = import_file(path)

    # 1. the code is the benign spec's code; only string constants differ
    tree, benign_tree = ast.parse(text), ast.parse(benign_text)
    assert _names(tree) == _names(benign_tree)
    assert _shape(text) == _shape(benign_text)
    # (the same AST, strings blanked: token by token the layout may differ, as ruff wraps lines
    # by the literals' lengths)
    _code, comments = _code_tokens(text)
    for c in comments:  # spec text inside comments is escaped to one printable-ASCII line
        assert all(" " <= ch <= "~" for ch in c), c

    # 2. every spec string is a literal of itself
    constants = _str_constants(tree)
    expected = {
        h.base_url,
        h.error_code,
        *(v for _, v in h.headers),
        *(k.lower() for k, _ in h.headers),  # header names are rendered lower-case
        *(n for n, _, _ in h.params),
        *h.patterns,
        *h.rule_drop,
        *(k for k, _ in h.finish_map),
        *h.model_ids,
    }
    assert expected <= constants, expected - constants
    # the match row compares case-insensitively, so the literal is the folded text
    assert {h.error_match.casefold(), h.error_match.lower()} & constants, h.error_match

    # 3. ... and the module hands it back unchanged
    assert h.base_url == module.DEFAULT_BASE_URL
    assert list(module.MODELS) == h.model_ids
    assert all(module.MODELS[m]["id"] == m for m in h.model_ids)
    pattern_vars = [v for k, v in vars(module).items() if k.startswith("_MODELS_")]
    if pattern_vars:
        regex = pattern_vars[0]
        for probe in [*h.patterns, *h.model_ids, "m-request", ""]:
            assert bool(regex.match(probe)) == any(fnmatch.fnmatchcase(probe, p) for p in h.patterns), probe

    # 4. the request: headers byte-exact, mapped params under their target, dropped ones gone
    sent = {name: value for name, _, value in h.params}
    request = module.chat.build_request(
        {"model": "m-request", "messages": [{"role": "user", "content": "hi"}], **sent}, api_key=API_KEY, base_url=BASE
    )
    assert isinstance(request, httpx.Request)
    assert str(request.url) == BASE + "/chat/completions"
    for hname, hvalue in h.headers:
        got = [v for k, v in request.headers.raw if k.lower() == hname.lower().encode("ascii")]
        assert got == [hvalue.encode("ascii")], (hname, hvalue, got)
    body = json.loads(request.content)
    want: dict[str, Any] = {"model": "m-request", "messages": [{"role": "user", "content": "hi"}]}
    for i, (_, kind, value) in enumerate(h.params):
        if kind == "map":
            want[f"hx{i}"] = value
        elif kind == "nested":
            want.setdefault("cfg", {})[f"hx{i}"] = value
    assert body == want

    with pytest.raises(rt_errors.UnsupportedParamsError):
        module.chat.build_request({"model": "m", "messages": [{"role": "user", "content": "hi"}], UNKNOWN_PARAM: 1}, api_key=API_KEY, base_url=BASE)

    # 5. the error table: code and match rows fire on exactly the spec's strings
    err = module.map_error(httpx.Response(418, json={"error": {"message": "nothing to see", "code": h.error_code}}))
    assert type(err) is rt_errors.ContentPolicyViolationError
    before, after = h.match_context
    around = before + h.error_match + after
    for message in (h.error_match, around, around.translate(ASCII_SWAPCASE)):
        err = module.map_error(httpx.Response(418, json={"error": {"message": message}}))
        assert type(err) is rt_errors.ContextWindowExceededError, message
    other = before + after
    if other.strip() and h.error_match.casefold() not in other.casefold():
        err = module.map_error(httpx.Response(418, json={"error": {"message": other}}))
        assert type(err) is not rt_errors.ContextWindowExceededError, other

    # 6. finish_reason map keys, in a response and in a stream
    for key, mapped in h.finish_map:
        completion = {
            "id": "c1",
            "object": "chat.completion",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": key}],
        }
        result = module.chat.parse_response(httpx.Response(200, json=completion)).to_dict()
        assert result["choices"][0]["finish_reason"] == mapped
        chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
                 "choices": [{"index": 0, "delta": {"content": "x"}, "finish_reason": key}]}
        stream = b"data: " + json.dumps(chunk).encode() + b"\n\ndata: [DONE]\n\n"
        chunks = [c.to_dict() for c in module.chat.parse_stream([stream])]
        assert [c["choices"][0]["finish_reason"] for c in chunks] == [mapped]


# ---------------------------------------------------------------------------- escape attempts

PAYLOADS = [
    'x"""\nimport os; os.system("echo pwned")\n"""',
    'x""" if __import__("os").system("echo pwned") else """',
    '"""',
    "'); __import__('os').system('echo pwned'); ('",
    '"); __import__("os").system("echo pwned"); ("',
    "\\'); __import__('os').system('echo pwned') #",
    "\n__import__('os').system('echo pwned')\n",
    "\r__import__('builtins').__setattr__('SPECGEN_PWNED', 1)\r",
    "\u2028__import__('os').system('echo pwned')\u2029",
    "\x0c__import__('os').system('echo pwned')\x0b",
    "{{ __import__('os').system('echo pwned') }}{% raw %}",
    "\\\n__import__('builtins').__setattr__('SPECGEN_PWNED', 1)\n#",
    "x' if __import__('os').system('echo pwned') else '",
]
VISIBLE_ASCII = re.compile(r"[\t\x20-\x7e]*")  # what the schema allows in a header value
HEADER_PAYLOADS = [p for p in PAYLOADS if VISIBLE_ASCII.fullmatch(p)]


def _plain_hostile() -> Hostile:
    return Hostile(
        display_name="X",
        docs=[],
        base_url=BASE,
        headers=[],
        params=[("temperature", "map", 1)],
        patterns=["gpt-*"],
        rule_drop=[],
        finish_map=[],
        error_code="c",
        error_match="m",
        model_ids=["m1"],
    )


def _escape_spec(field: str, payloads: list[str]) -> dict[str, Any]:
    h = _plain_hostile()
    if field == "display_name":
        h.display_name = payloads[0]
    elif field == "docs":
        h.docs = payloads
    elif field == "base_url":
        h.base_url = payloads[0].replace("{", "(").replace("}", ")")  # braces are template variables
    elif field == "headers":
        h.headers = [(f"X-P{i}", p) for i, p in enumerate(payloads)]
    elif field == "params":
        h.params = [(p, "map" if i % 2 else "drop", 1) for i, p in enumerate(payloads)]
    elif field == "patterns":
        h.patterns = payloads
    elif field == "rule_drop":
        h.rule_drop = payloads
    elif field == "finish_map":
        h.finish_map = [(p, "stop") for p in payloads]
    elif field == "error_code":
        h.error_code = payloads[0]
    elif field == "error_match":
        h.error_match = payloads[0]
    elif field == "model_ids":
        h.model_ids = payloads
    else:  # pragma: no cover
        raise AssertionError(field)
    return make_spec(h)


@pytest.fixture
def tripwires(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """Record (instead of run) anything an injected payload would call."""
    calls: list[tuple[str, Any]] = []

    real_popen = subprocess.Popen

    def recorder(name: str) -> Callable[..., Any]:
        def record(*args: Any, **kwargs: Any) -> Any:
            argv = args[0] if args else kwargs.get("args")
            if name == "subprocess.Popen" and isinstance(argv, list) and list(argv[1 : 1 + len(RUFF_FORMAT)]) == list(RUFF_FORMAT):
                return real_popen(*args, **kwargs)  # the build's own formatter, not spec text
            calls.append((name, args))
            raise RuntimeError(f"generated code called {name}{args!r}")

        return record

    monkeypatch.setattr(os, "system", recorder("os.system"))
    monkeypatch.setattr(os, "popen", recorder("os.popen"))
    monkeypatch.setattr(subprocess, "Popen", recorder("subprocess.Popen"))
    monkeypatch.delattr(builtins, "SPECGEN_PWNED", raising=False)
    return calls


def _exercise(module: ModuleType) -> None:
    """Run the generated functions that hold spec strings (function bodies run only when called)."""
    with suppress(rt_errors.LLMError):
        module.chat.build_request({"model": "m1", "messages": [{"role": "user", "content": "hi"}]}, api_key=API_KEY, base_url=BASE)
    module.map_error(httpx.Response(400, json={"error": {"message": "x", "code": "y"}}))
    module.chat.parse_response(
        httpx.Response(200, json={"id": "c", "choices": [{"index": 0, "message": {"role": "assistant", "content": "x"}, "finish_reason": "stop"}]})
    )
    list(module.chat.parse_stream([b'data: {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}\n\ndata: [DONE]\n\n']))


SINGLE_FIELDS = ["display_name", "base_url", "error_code", "error_match"]
MULTI_FIELDS = ["docs", "params", "patterns", "rule_drop", "finish_map", "model_ids"]
ESCAPE_CASES = (
    [(f"{f}-{i}", f, [p]) for f in SINGLE_FIELDS for i, p in enumerate(PAYLOADS)]
    + [(f, f, PAYLOADS) for f in MULTI_FIELDS]
    + [("headers", "headers", HEADER_PAYLOADS)]
)


@pytest.mark.parametrize(("field", "payloads"), [c[1:] for c in ESCAPE_CASES], ids=[c[0] for c in ESCAPE_CASES])
def test_escape_attempts_do_not_execute(field: str, payloads: list[str], tripwires: list[tuple[str, Any]]) -> None:
    """Spec text written to break out of its literal builds, imports and runs without executing anything."""
    with workdir() as root:
        path = build_spec(_escape_spec(field, payloads), root)
        text = path.read_text(encoding="utf-8")
        module = import_file(path)
    _exercise(module)
    assert tripwires == []
    assert not hasattr(builtins, "SPECGEN_PWNED")
    names = _names(ast.parse(text))
    assert "system" not in names and "__import__" not in names and "os" not in names
    assert isinstance(module.__doc__, str)  # the docstring survived as the module's docstring


FOLDER_PAYLOADS = [
    "specs\n__import__('builtins').__setattr__('SPECGEN_PWNED', 1)\n#",
    # with unfiltered location comments this compiled: the first one opened a ''' string, the next closed it
    "x\n    __import__('builtins').__setattr__('SPECGEN_PWNED', 1)\n    '''#",
    'x"""\r__import__("builtins").__setattr__("SPECGEN_PWNED", 1)\r#',
]


@pytest.mark.skipif(os.name == "nt", reason="needs a newline in a folder name")
@pytest.mark.parametrize("folder", FOLDER_PAYLOADS, ids=["newline", "crafted", "quotes-cr"])
def test_specs_folder_name_stays_in_comments(folder: str, tripwires: list[tuple[str, Any]]) -> None:
    """The specs folder's name reaches the output (``# <folder>/x.yaml:12``): only as comment text."""
    h = _plain_hostile()
    with workdir() as root:
        try:
            path = build_spec(make_spec(h), root / "evil", folder=folder)
        except SpecErrors:
            return  # refusing such a folder with a located error is fine too
        text = path.read_text(encoding="utf-8")
        benign = build_spec(make_spec(h), root / "benign").read_text(encoding="utf-8")
        module = import_file(path)
    _exercise(module)
    assert tripwires == []
    assert not hasattr(builtins, "SPECGEN_PWNED")
    assert _shape(text) == _shape(benign)
    assert _code_tokens(text)[0] == _code_tokens(benign)[0]


# ---------------------------------------------------------------------------- header values and names


@pytest.mark.parametrize("value", ["caf\u00e9", "a\r\nX-Injected: 1", "a\nb", "a\rb", "\x7f", "\x00"], ids=repr)
def test_header_values_must_be_visible_ascii(value: str) -> None:
    """A value httpx cannot encode (or that would split the header) is refused at build time."""
    h = _plain_hostile()
    h.headers = [("X-Custom", value)]
    with workdir() as root, pytest.raises(SpecErrors):
        build_spec(make_spec(h), root)


TRAILING_NEWLINE_CASES = {
    "header value": {"headers": {"X-Custom": "ok\n"}},
    "header name": {"headers": {"X-Custom\n": "ok"}},
    "auth header": {"auth": {"type": "header", "header": "x-key\n"}},
}


@pytest.mark.parametrize("case", list(TRAILING_NEWLINE_CASES), ids=list(TRAILING_NEWLINE_CASES))
def test_header_text_with_trailing_newline_is_refused(case: str) -> None:
    spec = make_spec(_plain_hostile())
    spec.update(TRAILING_NEWLINE_CASES[case])
    with workdir() as root:
        try:
            path = build_spec(spec, root)
        except SpecErrors:
            return
        module = import_file(path)
    request = module.chat.build_request({"model": "m1", "messages": [{"role": "user", "content": "hi"}]}, api_key=API_KEY)
    assert not any(b"\n" in k or b"\n" in v for k, v in request.headers.raw), request.headers.raw


# ---------------------------------------------------------------------------- error matching


@pytest.mark.parametrize(
    ("match", "message"),
    [
        ("\u03a3", "\u039f\u03a3"),  # Σ in "ΟΣ": str.lower() makes that a final ς
        ("\u03c3", "\u039f\u03a3 \u03c2"),
        ("STRASSE", "die stra\u00dfe"),
        ("maximum context length", "This model's MAXIMUM Context Length is 8192"),
    ],
)
def test_error_match_is_case_insensitive_substring(match: str, message: str) -> None:
    h = _plain_hostile()
    h.error_match = match
    with workdir() as root:
        module = import_file(build_spec(make_spec(h), root))
    err = module.map_error(httpx.Response(400, json={"error": {"message": message}}))
    assert type(err) is rt_errors.ContextWindowExceededError


# ---------------------------------------------------------------------------- wire types (types:)

WIRE_TYPE_CASES: dict[str, dict[str, Any]] = {
    "object description": {
        "type": "object",
        "description": 'x"""\n__import__("builtins").__setattr__("SPECGEN_PWNED", 1)\n"""',
        "properties": {"a": {"type": "string"}},
    },
    "property description": {
        "type": "object",
        "properties": {"a": {"type": "string", "description": "a\n__import__('builtins').__setattr__('SPECGEN_PWNED', 2)\n#"}},
    },
    "property title": {
        "type": "object",
        "properties": {"a": {"type": "string", "title": "a\n__import__('builtins').__setattr__('SPECGEN_PWNED', 3)\n#"}},
    },
    "default": {"type": "object", "properties": {"a": {"type": "string", "default": "x'''\"\"\"\n\\"}}},
    "const": {"type": "object", "properties": {"a": {"const": "x'\"\n__import__('os')"}}},
    "pattern": {"type": "object", "properties": {"a": {"type": "string", "pattern": "x'\"\"\"\n(?P<a>)\\"}}},
}
ENUM_VALUES = ["a'b", 'c"""d', "e\nf", "g\\", "{{h}}", "#i", "\u2028j"]


def _wire_spec(types: dict[str, Any]) -> dict[str, Any]:
    spec = make_spec(_plain_hostile())
    spec["types"] = types
    return spec


@pytest.mark.parametrize("case", list(WIRE_TYPE_CASES), ids=list(WIRE_TYPE_CASES))
def test_wire_types_keep_schema_text_out_of_code(case: str, tripwires: list[tuple[str, Any]]) -> None:
    with workdir() as root:
        path = build_spec(_wire_spec({"Foo": WIRE_TYPE_CASES[case]}), root)
        text = path.read_text(encoding="utf-8")
        module = import_file(path)
    _exercise(module)
    assert tripwires == [] and not hasattr(builtins, "SPECGEN_PWNED")
    assert "__import__" not in _names(ast.parse(text))
    assert set(typing.get_type_hints(module.Foo, globalns=vars(module))) == {"a"}


def test_wire_type_enum_values_come_back() -> None:
    with workdir() as root:
        module = import_file(build_spec(_wire_spec({"Foo": {"type": "object", "properties": {"k": {"enum": ENUM_VALUES}}}}), root))
    hint = typing.get_type_hints(module.Foo, globalns=vars(module), include_extras=True)["k"]
    (literal,) = typing.get_args(hint)  # NotRequired[Literal[...]]
    assert list(typing.get_args(literal)) == ENUM_VALUES


@pytest.mark.parametrize("prop", ["x-request-id", "class", "we ird"])
def test_wire_type_property_names_need_not_be_identifiers(prop: str) -> None:
    with workdir() as root:
        module = import_file(build_spec(_wire_spec({"Foo": {"type": "object", "properties": {prop: {"type": "string"}}}}), root))
    assert set(typing.get_type_hints(module.Foo, globalns=vars(module))) == {prop}


# ---------------------------------------------------------------------------- the strategies themselves


def test_header_strategies_match_schema() -> None:
    @settings(max_examples=200, deadline=None)
    @given(header_names(), header_values())
    def check(name: str, value: str) -> None:
        assert TOKEN_RE.fullmatch(name)
        assert VISIBLE_ASCII.fullmatch(value)

    check()
