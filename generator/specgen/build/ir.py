"""The render-ready view of a resolved spec: everything a template needs, precomputed.

Spec strings stay plain Python values here; templates place them only through
the ``lit``/``ident``/``comment`` filters (see :mod:`specgen.build.literals`).

Longer than 600 lines on purpose: each IR dataclass sits next to the function that fills it from
the spec, so a template author finds a field and where it comes from in one place; splitting the
stream and response parts off would put one construct in two files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from specgen.spec.loader import Node
from specgen.spec.resolve import ResolvedSpec, ll
from specgen_runtime import wires

TEMPLATE_PART = re.compile(r"\{([a-z][a-z0-9_]*)\}")

Path = tuple[str, ...]


def split_path(text: str) -> Path:
    return tuple(text.split("."))


@dataclass
class ParamIR:
    name: str
    where: str
    kind: str  # map | drop | refuse
    to: Path = ()
    location: str = "body"  # body | query
    transform: str | None = None
    transform_ref: str | None = None  # "<module alias>.<function>" in generated code
    has_default: bool = False
    default: Any = None
    required: bool = False
    range: tuple[Any, Any] | None = None
    enum: list[Any] | None = None
    merge: bool = False
    #: value map of a plain value: ((openai value, provider value), ...)
    values: list[tuple[Any, Any]] = field(default_factory=list)
    #: value maps of fields inside an object value: ((field path, ((openai, provider), ...)), ...)
    field_values: list[tuple[Path, list[tuple[Any, Any]]]] = field(default_factory=list)

    @property
    def sends_nothing(self) -> bool:
        """A value map that maps some value to null: that value is not sent at all."""
        return any(v is None for _, v in self.values)


@dataclass
class RuleIR:
    var: str
    where: str
    patterns: list[str]
    drop: list[str]
    refuse: list[str]
    rename: list[tuple[str, str]]


@dataclass
class EventIR:
    key: str
    where: str
    parts: tuple[str, ...]
    ignore: bool = False
    content: Path | None = None
    reasoning: Path | None = None
    tool_key: Path | None = None
    tool_id: Path | None = None
    tool_name: Path | None = None
    tool_args: Path | None = None
    has_tool: bool = False
    finish: Path | None = None
    usage: list[tuple[str, Path]] = field(default_factory=list)
    id: Path | None = None
    model: Path | None = None
    raise_error: bool = False
    end: bool = False
    #: ``response: path``: a whole response object in the mode's format
    response_path: Path | None = None
    #: ``response: {response path: event path}``: pieces of one
    response_parts: list[tuple[Path, Path]] = field(default_factory=list)

    @property
    def has_response(self) -> bool:
        return self.response_path is not None or bool(self.response_parts)

    @property
    def tool_starts(self) -> bool:
        """A tool_call action with an id or a name starts a call; one with neither only continues
        a call this stream started (its key seen before), and is ignored otherwise."""
        return bool(self.tool_id or self.tool_name)

    @property
    def emits(self) -> bool:
        return bool(self.content or self.reasoning or self.has_tool or self.finish or self.has_response)


@dataclass
class StreamIR:
    where: str
    protocol: str
    decoder: str
    flag: Path | None
    flag_when_off: bool
    path_expr: str | None
    path_vars: list[str]
    query: list[tuple[str, str]] | None
    terminator: str | None
    format: str | None
    error_key: Path | None
    error_status: int | None
    dispatch: list[list[Path] | str]
    events: list[EventIR]
    unknown: str
    terminated: bool
    passthrough: bool
    wire: str | None = None  # module alias of the stream format's wire
    #: (OpenAI param path, values): a stream=True call matching one is sent unstreamed and replayed
    emulate_when: list[tuple[Path, list[Any]]] = field(default_factory=list)


#: Python types of the OpenAI params a caller passes (for typed keyword arguments); a param not
#: named here is typed ``Any``. Fixed in the compiler: a spec names params, never types.
PARAM_TYPES = {
    "model": "str",
    "messages": "Sequence[Mapping[str, Any]]",
    "input": "str | Sequence[str] | Sequence[int] | Sequence[Sequence[int]]",
    "prompt": "str | Sequence[str] | Sequence[int] | Sequence[Sequence[int]]",
    "suffix": "str",
    "echo": "bool",
    "best_of": "int",
    "temperature": "float",
    "top_p": "float",
    "top_k": "int",
    "max_tokens": "int",
    "max_completion_tokens": "int",
    "n": "int",
    "seed": "int",
    "stop": "str | Sequence[str]",
    "tools": "Sequence[Mapping[str, Any]]",
    "tool_choice": "str | Mapping[str, Any]",
    "parallel_tool_calls": "bool",
    "response_format": "Mapping[str, Any]",
    "stream_options": "Mapping[str, Any]",
    "user": "str",
    "logprobs": "bool",
    "top_logprobs": "int",
    "logit_bias": "Mapping[str, float]",
    "frequency_penalty": "float",
    "presence_penalty": "float",
    "reasoning_effort": "str",
    "metadata": "Mapping[str, str]",
    "service_tier": "str",
    "modalities": "Sequence[str]",
    "store": "bool",
    "dimensions": "int",
    "encoding_format": "str",
    "thinking": "Mapping[str, Any]",
    "prompt_cache_key": "str",
    "safety_identifier": "str",
    "verbosity": "str",
}


@dataclass
class ModeIR:
    name: str
    where: str
    format: str
    method: str
    path_expr: str
    path_vars: list[str]
    query: list[tuple[str, str]]
    model_field: Path
    unsupported: str
    messages_transform: str | None
    messages_transform_refs: list[str]
    wire: str  # the module alias of the mode's wire in generated code (_w_anthropic)
    passthrough_response: bool  # the wire's responses are OpenAI's already
    message_table: dict[str, Any] | None  # the spec's response table (see specgen_runtime.table)
    table_module: str | None

    @property
    def choices_expr(self) -> str:
        """What reads a response's choices: the table's reader, or the wire's."""
        return f"{self.table_module}.table_choices" if self.table_module else f"{self.wire}.chat_choices"
    aliases: list[tuple[str, str, str]]
    params: list[ParamIR]
    rules: list[RuleIR]
    response_where: str
    id_path: Path | None
    model_path: Path | None
    created_path: Path | None
    finish_where: str
    finish_from: Path | None
    finish_map: dict[str, str]
    finish_default: str | None
    finish_tool_calls: bool
    usage: list[tuple[str, Path]]
    usage_declared: bool
    stream: StreamIR | None
    #: embeddings: paths to the vectors (``response.data``), instead of the wire's reader
    data_paths: list[Path] = field(default_factory=list)
    #: embeddings: ``params.input`` places the input (else the wire's embeddings_request does)
    input_param: bool = False
    #: embeddings: the wire reads the token counts itself (it has ``embeddings_usage``)
    wire_usage: bool = False
    #: ``endpoint.by_api_version``: (API versions, path expression, query, where) used instead of
    #: the endpoint's path and query when the request's API version is one of them
    version_endpoints: list[tuple[list[str], str, list[tuple[str, str]], str]] = field(default_factory=list)
    #: template variables only the base URL names (not the endpoint's path or query): a base URL the
    #: caller passes may not name them, so they are asked for only when the URL in use does
    base_only_vars: list[str] = field(default_factory=list)

    @property
    def typed_params(self) -> list[tuple[str, str, bool]]:
        """(name, Python type, required) of every param a caller may pass, for the typed keyword
        arguments of ``chat()`` / ``embeddings()``; empty for a mode that passes unknown params
        through (any keyword is then fine)."""
        if self.unsupported == "passthrough":
            return []
        required = {"chat": ("model", "messages"), "completions": ("model", "prompt")}.get(self.name, ("model", "input"))
        out = [(n, PARAM_TYPES.get(n, "Any"), True) for n in required]
        if self.name == "completions":  # the wire places the text after the gap (fill-in-the-middle)
            out.append(("suffix", PARAM_TYPES["suffix"], False))
        names = [p.name for p in self.params if p.kind != "refuse"] + [a[0] for a in self.aliases]
        for name in dict.fromkeys(names):
            if all(name != have for have, _t, _r in out):
                out.append((name, PARAM_TYPES.get(name, "Any"), False))
        out += [("extra_headers", "Mapping[str, str]", False), ("extra_body", "Mapping[str, Any]", False)]
        return out

    @property
    def all_path_vars(self) -> list[str]:
        extra = self.stream.path_vars if self.stream else []
        return list(dict.fromkeys([*self.path_vars, *extra]))


@dataclass
class ErrorRowIR:
    where: str
    statuses: list[int]
    code: str | None
    match: str | None
    cls: str
    retry: bool


@dataclass
class ProviderIR:
    name: str
    display: str
    display_name: str
    docs: list[str]
    default_base_url: str | None
    api_key_env: list[str]
    base_url_env: list[str]
    model_prefix: str | None
    auth_where: str
    auth_type: str
    auth_header: str | None
    auth_query: str | None
    auth_prefix: str
    auth_required: bool
    headers: list[tuple[str, str]]
    versions_where: str | None
    version_default: str | None
    version_env: list[str]
    version_overrides: list[tuple[str, list[str], str, str]]
    path_params: list[tuple[str, list[str], str | None]]
    error_message_paths: list[Path]
    error_code_paths: list[Path]
    error_rows: list[ErrorRowIR]
    modes: list[ModeIR]
    models: list[dict[str, Any]]
    patterns: list[tuple[str, list[str]]]
    wire_types: str = ""
    decoders: list[str] = field(default_factory=list)
    #: (dotted module, alias) of every wire and transform module the adapter calls
    imports: list[tuple[str, str]] = field(default_factory=list)
    #: the runtime interface the module is built for (``specgen_runtime.INTERFACE`` at build time)
    runtime_interface: int = 0
    #: template variables in the base URL (``https://{resource}.openai.azure.com``)
    base_url_vars: list[str] = field(default_factory=list)
    #: ``auth.token`` (type token: the key is exchanged for an access token), as a literal
    token_spec: dict[str, Any] | None = None
    #: ``auth.alternatives`` as literals (env lists normalized), and the header the spec's own
    #: auth puts the key in (an alternative's credential replaces it)
    auth_alternatives: list[dict[str, Any]] = field(default_factory=list)
    auth_header_name: str = "authorization"
    #: path params declared ``in: body``: (name, required), sent as top-level body fields
    body_fields: list[tuple[str, bool]] = field(default_factory=list)
    #: ``routes``: (pattern variable, patterns, target provider, where) — models another adapter serves
    routes: list[tuple[str, list[str], str, str]] = field(default_factory=list)
    #: ``base_urls``: ([(path param, [values])], url template, where), tried before the default base URL
    base_urls: list[tuple[list[tuple[str, list[str]]], str, str]] = field(default_factory=list)
    #: path params whose last source (before their default) is the credentials: (name, what, env names)
    credential_params: list[tuple[str, str, list[str]]] = field(default_factory=list)
    #: ``auth.google`` (type google: OAuth2 access tokens from google-auth), as a literal
    google_auth: dict[str, Any] | None = None
    #: ``auth.sigv4`` (type sigv4: requests signed by the client): service, region path param
    sigv4: dict[str, str] | None = None
    #: models.discovery, render-ready (method, path_expr, path_vars, items, id, id_prefix, fields, where)
    discovery: dict[str, Any] | None = None

    @property
    def prefixed_ids(self) -> list[str]:
        """Known model ids that start with the naming prefix themselves (Groq's ``groq/compound``):
        a caller's model equal to one of them is the provider's own id, and keeps its prefix."""
        prefix = self.model_prefix
        return [str(m["id"]) for m in self.models if prefix and str(m.get("id", "")).startswith(prefix)]

    def bare_model(self, model: str) -> str:
        """The model id the provider gets for ``model`` (what the adapter's ``take_model`` does)."""
        if self.model_prefix and model.startswith(self.model_prefix) and model not in self.prefixed_ids:
            return model[len(self.model_prefix) :]
        return model
    mode_classes: list[str] = field(default_factory=list)
    result_types: list[str] = field(default_factory=list)

    def mode(self, name: str) -> ModeIR | None:
        return next((m for m in self.modes if m.name == name), None)


def _where(node: Node, key: str | None = None) -> str:
    from specgen.build.literals import comment

    loc = node.where(key) if key is not None else node.loc
    return comment(f"{loc.file}:{loc.line}")


def path_expression(template: str) -> tuple[str, list[str]]:
    """``/{api_version}/models/{model}:x`` → a Python expression over quoted locals, and its variables."""
    from specgen.build.literals import lit

    pieces: list[str] = []
    names: list[str] = []
    pos = 0
    for m in TEMPLATE_PART.finditer(template):
        if m.start() > pos:
            pieces.append(lit(template[pos : m.start()]))
        var = m.group(1)
        names.append(var)
        pieces.append(f"_rt.path_quote(v_{var})")
        pos = m.end()
    if pos < len(template):
        pieces.append(lit(template[pos:]))
    return (" + ".join(pieces) or "''"), names


def value_expression(template: str) -> tuple[str, list[str]]:
    """``"{api_version}"`` → a Python expression over the (unquoted) locals, and its variables: a
    query value, which httpx encodes itself."""
    from specgen.build.literals import lit

    pieces: list[str] = []
    names: list[str] = []
    pos = 0
    for m in TEMPLATE_PART.finditer(template):
        if m.start() > pos:
            pieces.append(lit(template[pos : m.start()]))
        names.append(m.group(1))
        pieces.append(f"v_{m.group(1)}")
        pos = m.end()
    if pos < len(template):
        pieces.append(lit(template[pos:]))
    return (" + ".join(pieces) or "''"), names


def _query(node: Node | None) -> list[tuple[str, str]]:
    """Query parameters as (name, value); a value may name template variables (templates render
    it with the ``value_expr`` filter)."""
    return [(k, str(v)) for k, v in (node or {}).items()]


def _query_vars(node: Node | None) -> list[str]:
    return [var for v in (node or {}).values() for var in value_expression(str(v))[1]]


def build_ir(spec: ResolvedSpec) -> ProviderIR:
    d = spec.data
    patterns: list[tuple[str, list[str]]] = []

    def pattern_var(pats: Any) -> str:
        var = f"_MODELS_{len(patterns)}"
        patterns.append((var, [str(p) for p in ll(pats)]))
        return var

    env = d.get("env") or {}
    auth = d.get("auth") or Node(d.loc)
    auth_type = auth.get("type", "none")
    api_key_env = [str(x) for x in ll(auth.get("env")) + ll(env.get("api_key"))]
    naming = d.get("model_naming")
    prefix = naming.split("<model>", 1)[0] if naming else None

    versions = d.get("api_versions")
    overrides = []
    if versions:
        for o in versions.get("overrides") or ():
            overrides.append((pattern_var(o["models"]), [str(p) for p in ll(o["models"])], str(o["version"]), _where(o)))

    errors = d.get("errors") or Node(d.loc)
    rows = []
    # `add:` rows (a child's additions to an inherited table) are tried before the table's own
    for row in [*(errors.get("add") or ()), *(errors.get("table") or ())]:
        rows.append(
            ErrorRowIR(
                where=_where(row),
                statuses=[int(s) for s in ll(row.get("status"))],
                code=row.get("code"),
                match=row.get("match"),
                cls=str(row["raise"]),
                retry=bool(row.get("retry", False)),
            )
        )

    modes: list[ModeIR] = []
    base_url_vars = [m.group(1) for m in TEMPLATE_PART.finditer(str(d.get("base_url") or ""))]
    base_urls = [
        ([(str(k), [str(x) for x in ll(v)]) for k, v in (e.get("when") or {}).items()], str(e["url"]), _where(e))
        for e in d.get("base_urls") or ()
    ]
    for when, url, _w in base_urls:  # every variable a base URL rule reads or fills
        for var in [k for k, _v in when] + [m.group(1) for m in TEMPLATE_PART.finditer(url)]:
            if var not in base_url_vars:
                base_url_vars.append(var)
    imports: dict[str, str] = {}  # module → its alias in generated code
    for mode_name, mode in (d.get("modes") or {}).items():
        modes.append(_mode_ir(mode_name, mode, d["modes"], pattern_var, imports, base_url_vars))

    models = []
    for m in (d.get("models") or {}).get("known") or ():
        models.append(dict(m))

    docs = [str(x) for x in ll(d.get("docs"))]
    ir = ProviderIR(
        name=spec.name,
        display=spec.display,
        display_name=str(d.get("display_name") or spec.name),
        docs=docs,
        default_base_url=d.get("base_url"),
        api_key_env=api_key_env,
        base_url_env=[str(x) for x in ll(env.get("base_url"))],
        model_prefix=prefix or None,
        auth_where=_where(d, "auth") if "auth" in d else _where(d),
        auth_type=auth_type,
        auth_header=auth.get("header"),
        auth_query=auth.get("query"),
        auth_prefix=str(auth.get("prefix", "")),
        # sigv4: no key is no error (the client signs the request instead)
        auth_required=bool(auth.get("required", auth_type not in ("none", "sigv4"))),
        headers=[(k.lower(), v) for k, v in (d.get("headers") or {}).items()],  # names are case-insensitive
        versions_where=_where(d, "api_versions") if versions else None,
        version_default=versions.get("default") if versions else None,
        version_env=[str(x) for x in ll(versions.get("env"))] if versions else [],
        version_overrides=overrides,
        path_params=[(k, [str(x) for x in ll(v.get("env"))], v.get("default")) for k, v in (d.get("path_params") or {}).items()],
        error_message_paths=[split_path(p) for p in ll(errors.get("message"))] or [("error", "message"), ("error",), ("message",)],
        error_code_paths=[split_path(p) for p in ll(errors.get("code"))],
        error_rows=rows,
        modes=modes,
        models=models,
        patterns=patterns,
    )
    ir.decoders = sorted({m.stream.decoder for m in modes if m.stream})
    ir.imports = sorted(imports.items())
    ir.base_url_vars = base_url_vars
    ir.body_fields = [(str(k), bool(v.get("required", True))) for k, v in (d.get("path_params") or {}).items() if v.get("in") == "body"]
    ir.base_urls = base_urls
    ir.routes = [
        (pattern_var(r["models"]), [str(x) for x in ll(r["models"])], str(r["provider"]), _where(r))
        for r in d.get("routes") or ()
    ]
    if auth_type == "token":
        token = auth.get("token") or {}
        ir.token_spec = {str(k): (list(ll(v)) if k == "env" else v) for k, v in token.items()}
    for alt in auth.get("alternatives") or ():
        entry: dict[str, Any] = {str(k): v for k, v in alt.items() if k != "token"}
        entry["env"] = [str(x) for x in ll(alt.get("env"))]
        if "token" in alt:
            entry["token"] = {str(k): (list(ll(v)) if k == "env" else v) for k, v in alt["token"].items()}
        ir.auth_alternatives.append(entry)
    ir.auth_header_name = str(auth["header"]).lower() if auth_type == "header" and auth.get("header") else "authorization"
    if auth_type == "sigv4":
        sig = auth.get("sigv4") or {}
        ir.sigv4 = {"service": str(sig.get("service")), "region": str(sig.get("region"))}
    if auth_type == "google":
        google = auth.get("google") or {}
        ir.google_auth = {str(k): [str(x) for x in ll(v)] for k, v in google.items()}
        ir.credential_params = [
            (str(k), str(v["credentials"]), [str(x) for x in ll(v.get("env"))])
            for k, v in (d.get("path_params") or {}).items()
            if "credentials" in v
        ]
    disc = (d.get("models") or {}).get("discovery")
    if disc is not None:
        path_expr, path_vars = path_expression(str(disc["path"]))
        disc_vars = [*path_vars, *_query_vars(disc.get("query"))]
        path_vars = list(dict.fromkeys([*disc_vars, *base_url_vars]))
        ir.discovery = {
            "base_only_vars": [v for v in base_url_vars if v not in disc_vars],
            "method": str(disc.get("method", "GET")),
            "path_expr": path_expr,
            "path_vars": path_vars,
            "query": _query(disc.get("query")),
            "items": split_path(str(disc.get("items", "data"))),
            "id": split_path(str(disc.get("id", "id"))),
            "id_prefix": str(disc.get("id_prefix", "")),
            "fields": [(str(k), split_path(str(v))) for k, v in (disc.get("fields") or {}).items()],
            "where": _where(d["models"], "discovery"),
        }
    import specgen_runtime

    ir.runtime_interface = specgen_runtime.INTERFACE
    names = {m.name for m in modes}
    ir.mode_classes = [
        c for c, n in (("ChatMode", "chat"), ("CompletionsMode", "completions"), ("EmbeddingsMode", "embeddings")) if n in names
    ]
    ir.result_types = sorted(
        (["ChatCompletion", "ChatCompletionChunk"] if "chat" in names else [])
        + (["EmbeddingResponse"] if "embeddings" in names else [])
        + (["TextCompletion", "TextCompletionChunk"] if "completions" in names else [])
    )
    return ir


def module_alias(module: str) -> str:
    """How generated code names an imported wire or transform module."""
    if module == "specgen_runtime.transforms":
        return "_tf"
    if module == "specgen_runtime.table":
        return "_table"
    if module.startswith("specgen_runtime.wires."):
        return "_w_" + module.rsplit(".", 1)[1]
    return "_p_" + module.replace(".", "_")  # a plug-in's module


def _ref(imports: dict[str, str], module: str, attr: str | None = None) -> str:
    alias = imports.setdefault(module, module_alias(module))
    return f"{alias}.{attr}" if attr else alias


def _transform_ref(name: str | None, imports: dict[str, str]) -> str | None:
    if not name:
        return None
    found = wires.transforms()[name]
    return _ref(imports, found.module, found.name)


def _mode_ir(name: str, mode: Node, parent: Node, pattern_var: Any, imports: dict[str, str], base_url_vars: list[str]) -> ModeIR:
    endpoint = mode.get("endpoint") or Node(mode.loc)
    path_expr, path_vars = path_expression(str(endpoint["path"]))
    endpoint_vars = [*path_vars, *_query_vars(endpoint.get("query"))]
    path_vars = list(dict.fromkeys([*endpoint_vars, *base_url_vars]))
    version_endpoints: list[tuple[list[str], str, list[tuple[str, str]], str]] = []
    for alt in endpoint.get("by_api_version") or []:
        alt_expr, alt_vars = path_expression(str(alt["path"]))
        version_endpoints.append(([str(v) for v in ll(alt["api_version"])], alt_expr, _query(alt.get("query")), _where(alt)))
        endpoint_vars += [*alt_vars, *_query_vars(alt.get("query"))]
        path_vars = list(dict.fromkeys([*path_vars, "api_version", *alt_vars, *_query_vars(alt.get("query"))]))
    params: list[ParamIR] = []
    aliases: list[tuple[str, str, str]] = []
    node_params = mode.get("params") or Node(mode.loc)
    for pname, p in node_params.items():
        where = _where(node_params, pname)
        if "alias" in p:
            aliases.append((pname, str(p["alias"]), where))
            continue
        if "unsupported" in p:
            params.append(ParamIR(pname, where, kind=str(p["unsupported"]), enum=list(p["enum"]) if "enum" in p else None))
            continue
        rng = p.get("range")
        params.append(
            ParamIR(
                pname,
                where,
                kind="map",
                to=split_path(str(p.get("to", pname))),
                location=str(p.get("in", "body")),
                transform=p.get("transform"),
                transform_ref=_transform_ref(p.get("transform"), imports),
                has_default="default" in p,
                default=p.get("default"),
                required=bool(p.get("required", False)),
                range=(rng[0], rng[1]) if rng else None,
                enum=list(p["enum"]) if "enum" in p else None,
                merge=bool(p.get("merge", False)),
                values=[(k, v) for k, v in (p.get("values") or {}).items()],
                field_values=[(split_path(f), [(k, v) for k, v in m.items()]) for f, m in (p.get("field_values") or {}).items()],
            )
        )
    rules = []
    for rule in mode.get("model_rules") or ():
        rules.append(
            RuleIR(
                var=pattern_var(rule["models"]),
                where=_where(rule),
                patterns=[str(x) for x in ll(rule["models"])],
                drop=[str(x) for x in rule.get("drop") or ()],
                refuse=[str(x) for x in rule.get("refuse") or ()],
                rename=[(k, str(v)) for k, v in (rule.get("rename") or {}).items()],
            )
        )
    response = mode.get("response") or Node(mode.loc)
    finish = response.get("finish_reason") or Node(response.loc)
    usage = [(k, split_path(v)) for k, vs in (response.get("usage") or {}).items() for v in ll(vs)]
    stream_node = mode.get("stream")
    stream = _stream_ir(stream_node, bool(finish.get("map"))) if stream_node is not None else None
    fmt = str(mode.get("format", "openai"))
    wire = wires.load(fmt)
    defaults = wire.RESPONSE_DEFAULTS
    table = _message_table(response)
    if stream is not None and stream.format is not None:
        stream.wire = _ref(imports, wires.module_of(stream.format))
        # chunks pass through (checked) only when the wire's are OpenAI's and nothing is remapped
        stream.passthrough = wires.load(stream.format).PASSTHROUGH and not (finish.get("map") or usage)
    return ModeIR(
        name=name,
        where=_where(parent, name),
        format=fmt,
        method=str(endpoint.get("method", "POST")),
        path_expr=path_expr,
        path_vars=path_vars,
        query=_query(endpoint.get("query")),
        model_field=split_path(str(mode.get("model_field", "model"))) if mode.get("model_field", "model") else (),
        unsupported=str(mode.get("unsupported", "refuse")),
        messages_transform=", ".join(str(t) for t in ll(mode.get("messages_transform"))) or None,
        messages_transform_refs=[r for t in ll(mode.get("messages_transform")) if (r := _transform_ref(str(t), imports))],
        wire=_ref(imports, wires.module_of(fmt)),
        passthrough_response=wire.PASSTHROUGH and table is None,
        message_table=table,
        table_module=_ref(imports, "specgen_runtime.table") if table is not None else None,
        aliases=aliases,
        params=params,
        rules=rules,
        response_where=_where(mode, "response") if "response" in mode else _where(mode),
        id_path=split_path(response["id"]) if "id" in response else _default(defaults, "id"),
        model_path=split_path(response["model"]) if "model" in response else ("model",),
        created_path=split_path(response["created"]) if "created" in response else _default(defaults, "created"),
        finish_where=_where(response, "finish_reason") if "finish_reason" in response else _where(mode),
        finish_from=split_path(finish["from"]) if "from" in finish else _default(defaults, "finish_reason"),
        finish_map={str(k): str(v) for k, v in (finish.get("map") or {}).items()},
        finish_default=finish.get("default"),
        finish_tool_calls="tool_calls" in finish,
        usage=usage,
        usage_declared="usage" in response,
        stream=stream,
        data_paths=[split_path(str(x)) for x in ll(response.get("data"))],
        input_param=name == "embeddings" and "input" in node_params,
        wire_usage=name == "embeddings" and callable(getattr(wire, "embeddings_usage", None)),
        version_endpoints=version_endpoints,
        base_only_vars=[v for v in base_url_vars if v not in endpoint_vars and not (stream is not None and v in stream.path_vars)],
    )


def _default(defaults: dict[str, str], key: str) -> Path | None:
    return split_path(defaults[key]) if key in defaults else None


TABLE_KEYS = ("content", "reasoning", "refusal", "tool_calls")


def _rules(node: Any) -> tuple[dict[str, Any], ...]:
    out = []
    for rule in node if isinstance(node, list) else [node]:
        if isinstance(rule, str):
            out.append({"from": split_path(rule)})
        else:
            r: dict[str, Any] = {"from": split_path(str(rule["from"]))}
            if "type" in rule:
                r["type"] = str(rule["type"])
            if "text" in rule:
                r["text"] = split_path(str(rule["text"]))
            out.append(r)
    return tuple(out)


def _message_table(response: Node) -> dict[str, Any] | None:
    """The response table (``content``/``reasoning``/``refusal``/``tool_calls``, ``choices``), or None
    when the wire's own reader reads the message."""
    if not any(k in response for k in TABLE_KEYS):
        return None
    table: dict[str, Any] = {"choices": split_path(response["choices"]) if "choices" in response else None}
    for key in ("content", "reasoning", "refusal"):
        table[key] = _rules(response[key]) if key in response else ()
    calls = response.get("tool_calls")
    if calls is None:
        table["tool_calls"] = None
    elif isinstance(calls, str):
        table["tool_calls"] = {"from": split_path(calls)}
    else:
        table["tool_calls"] = {k: split_path(str(v)) for k, v in calls.items()}
    return table


_DECODERS = {
    "sse": "SSEDecoder",
    "ndjson": "NDJSONDecoder",
    "json_array": "JSONArrayDecoder",
    "aws_eventstream": "EventStreamDecoder",
    "aws_eventstream/sse": "EventStreamSSEDecoder",
}


def _stream_ir(s: Node, has_finish_map: bool) -> StreamIR:
    endpoint = s.get("endpoint") or {}
    path_expr, path_vars = path_expression(str(endpoint["path"])) if "path" in endpoint else (None, [])
    path_vars = list(dict.fromkeys([*path_vars, *_query_vars(endpoint.get("query"))]))
    dispatch: list[list[Path] | str] = []
    for level in s.get("dispatch") or ():
        if level == "$event":
            dispatch.append("$event")
        else:
            dispatch.append([split_path(p) for p in ll(level)])
    events: list[EventIR] = []
    ev_node = s.get("events") or Node(s.loc)
    for key, action in ev_node.items():
        ev = EventIR(key=key, where=_where(ev_node, key), parts=tuple(key.split("/")))
        if action == "ignore":
            ev.ignore = True
        else:
            ev.content = split_path(action["content"]) if "content" in action else None
            ev.reasoning = split_path(action["reasoning"]) if "reasoning" in action else None
            tc = action.get("tool_call")
            if tc is not None:
                ev.has_tool = True
                ev.tool_key = split_path(tc["key"]) if "key" in tc else None
                ev.tool_id = split_path(tc["id"]) if "id" in tc else None
                ev.tool_name = split_path(tc["name"]) if "name" in tc else None
                ev.tool_args = split_path(tc["arguments"]) if "arguments" in tc else None
            ev.finish = split_path(action["finish_reason"]) if "finish_reason" in action else None
            ev.usage = [(k, split_path(v)) for k, vs in (action.get("usage") or {}).items() for v in ll(vs)]
            ev.id = split_path(action["id"]) if "id" in action else None
            ev.model = split_path(action["model"]) if "model" in action else None
            ev.raise_error = action.get("raise") == "error"
            ev.end = bool(action.get("end", False))
            response = action.get("response")
            if isinstance(response, str):
                ev.response_path = split_path(response)
            elif response is not None:
                ev.response_parts = [(split_path(k), split_path(str(v))) for k, v in response.items()]
        events.append(ev)
    # more specific keys first, then spec order
    events.sort(key=lambda e: -len(e.parts) if e.key != "*" else 1)
    terminated = "terminator" in s or any(e.end for e in events)
    fmt = s.get("format")
    emulate = [(split_path(str(k)), list(v)) for k, v in (s.get("emulate_when") or {}).items()]
    return StreamIR(
        emulate_when=emulate,
        where=_where(s),
        protocol=str(s["protocol"]),
        decoder=_DECODERS.get("/".join([str(s["protocol"]), *ll(s.get("payload"))]), "SSEDecoder"),
        flag=split_path(s["flag"]) if "flag" in s else None,
        flag_when_off=bool(s.get("flag_when_off", False)),
        path_expr=path_expr,
        path_vars=path_vars,
        query=_query(endpoint.get("query")) if "query" in endpoint else None,
        terminator=s.get("terminator"),
        format=fmt,
        error_key=split_path(s["error_key"]) if "error_key" in s else None,
        error_status=int(s["error_status"]) if "error_status" in s else None,
        dispatch=dispatch,
        events=events,
        unknown=str(s.get("unknown", "ignore")),
        terminated=terminated,
        passthrough=False,  # decided with the mode's response (see _mode_ir)
    )
