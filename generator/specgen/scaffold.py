"""``specgen new``: a spec that validates as written, and the skeletons of its transcripts and sources."""

from __future__ import annotations

import keyword
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from specgen.resources import schema_path
from specgen.spec.files import find_base

NAME = re.compile(r"^[a-z][a-z0-9_]*\Z")
SCHEMA_FILE = "providerspec.schema.json"


class ScaffoldError(Exception):
    """Why nothing was written."""


@dataclass
class Parent:
    """What the scaffold needs to know of the spec it extends (read from the resolved spec)."""

    name: str
    path: Path
    chat_path: str | None  # the chat endpoint path, None when it has no chat mode
    chat_format: str | None
    bearer: bool
    #: the parent reads its API key from auth.env too (which this spec would inherit)
    auth_env: bool = False
    #: per mode, the parent's request transcripts whose model carries the parent's naming prefix:
    #: they cannot hold under this spec's own prefix, so the scaffold removes them (``name: ~``)
    prefixed: dict[str, list[str]] = field(default_factory=dict)


def check_name(name: str) -> None:
    if not NAME.match(name):
        raise ScaffoldError(f"{name!r} is not a spec name: lower case letters, digits and _, starting with a letter")
    if keyword.iskeyword(name):
        raise ScaffoldError(f"{name!r} is a Python keyword; it cannot name a module")


def targets(name: str, specs_dir: Path) -> tuple[Path, Path, Path]:
    """The spec, its chat transcripts and its SOURCES.md."""
    fixtures = specs_dir / "fixtures" / name
    return specs_dir / f"{name}.yaml", fixtures / "chat" / "transcripts.yaml", fixtures / "SOURCES.md"


def schema_ref(specs_dir: Path) -> tuple[str, bool]:
    """The ``$schema`` a new spec in ``specs_dir`` points at, relative to it, and whether that file exists.

    In a checkout of specgen the shipped schema; else a ``providerspec.schema.json`` in the specs
    folder or a folder above it (``specgen schema --write`` puts one there); else the name of one
    beside the spec, to be written. Never an absolute path: the spec must mean the same anywhere.
    """
    here = Path.cwd().resolve()
    folder = specs_dir.resolve()
    shipped = schema_path().resolve()
    if folder.is_relative_to(here) and shipped.is_relative_to(here):
        return Path(os.path.relpath(shipped, folder)).as_posix(), True
    for above in (folder, *folder.parents):
        if (above / SCHEMA_FILE).is_file():
            return Path(os.path.relpath(above / SCHEMA_FILE, folder)).as_posix(), True
        if above == here:
            break
    return SCHEMA_FILE, False


def find_parent(parent: str, name: str, specs_dir: Path) -> Path:
    check_name(parent)
    if parent == name:
        raise ScaffoldError(f"a spec cannot extend itself ({name!r})")
    found = find_base(parent, specs_dir / f"{name}.yaml", specs_dir)
    if found is None:
        raise ScaffoldError(f"extends: no spec named {parent!r} in {specs_dir} or among the built-in specs")
    return found


def load_parent(parent: str, name: str, specs_dir: Path) -> Parent:
    """What the scaffold needs of ``parent``, resolved as the build resolves it (raises
    :class:`~specgen.spec.errors.SpecErrors` when it is invalid)."""
    from specgen.build.ir import build_ir
    from specgen.spec.resolve import load_specs
    from specgen.transcripts import TranscriptError, load

    path = find_parent(parent, name, specs_dir)
    (base,) = load_specs(path.parent, files=[path])
    data = base.data
    modes = data.get("modes") or {}
    chat = modes.get("chat")
    ir = build_ir(base)
    prefixed: dict[str, list[str]] = {}
    for mode in modes:
        try:
            transcripts = load(base.sources, mode)
        except TranscriptError as exc:
            raise ScaffoldError(str(exc)) from None
        names = [
            t.name
            for t in transcripts
            if t.kind == "requests" and isinstance(t.params.get("model"), str) and ir.bare_model(t.params["model"]) != t.params["model"]
        ]
        if names:
            prefixed[str(mode)] = names
    return Parent(
        name=base.name,
        path=path,
        chat_path=str((chat.get("endpoint") or {}).get("path")) if chat else None,
        chat_format=str(chat.get("format", "openai")) if chat else None,
        bearer=(data.get("auth") or {}).get("type") == "bearer",
        auth_env=bool((data.get("auth") or {}).get("env")),
        prefixed=prefixed,
    )


def display_name(name: str) -> str:
    return " ".join(part.capitalize() for part in name.split("_") if part)


def spec_text(name: str, schema: str, parent: Parent | None) -> str:
    env = name.upper()
    title = display_name(name)
    head = f"""\
# yaml-language-server: $schema={schema}
# {title}: TODO say in a line what it speaks and what it rejects, with the docs page that says so.
spec_version: 1
name: {name}
"""
    if parent is not None:
        auth = f"auth: {{ env: {env}_API_KEY }}                # not {parent.name}'s key variable\n" if parent.auth_env else ""
        return head + f"""\
extends: {parent.name}
display_name: {title}
docs: https://example.com/docs/api        # TODO the provider's API reference
model_naming: {name}/<model>
base_url: https://api.example.com/v1      # TODO what the provider's official SDK calls its base URL
env: {{ api_key: {env}_API_KEY, base_url: {env}_BASE_URL }}
{auth}# What differs from {parent.name} (`specgen explain {parent.name}` lists what is inherited):
# modes:
#   chat:
#     params:
#       logprobs: {{ unsupported: refuse }}   # a param the provider rejects
#       n: {{ range: [1, 1] }}
#   embeddings: ~                           # ~ removes an inherited entry
# errors:
#   add:                                    # tried before the inherited table
#     - {{ status: 413, raise: BadRequestError }}
"""
    return head + f"""\
display_name: {title}
docs: https://example.com/docs/api        # TODO the provider's API reference
model_naming: {name}/<model>
base_url: https://api.example.com/v1      # TODO what the provider's official SDK calls its base URL
env:
  api_key: {env}_API_KEY
  base_url: {env}_BASE_URL
auth: {{ type: bearer }}                    # bearer | header (with header: NAME) | query | none

modes:
  chat:
    endpoint: {{ method: POST, path: /chat/completions }}
    format: openai                          # the wire: openai | anthropic | gemini | ollama
    unsupported: refuse                     # a param not listed below: refuse | drop | passthrough
    params:
      # OpenAI param: {{}} sends it as is; to: a dotted target path, transform:, default:,
      # range: [lo, hi], enum: [...], in: query, alias: other_param, unsupported: drop | refuse
      max_tokens: {{}}
      temperature: {{ range: [0, 2] }}
      top_p: {{ range: [0, 1] }}
      stop: {{}}
      # seed: {{ to: options.seed }}
      # logprobs: {{ unsupported: refuse }}
    stream:
      protocol: sse                         # sse | ndjson | json_array
      flag: stream                          # the body field that asks for a stream
      terminator: "[DONE]"
      format: openai                        # each event is a whole chunk in this format
      error_key: error
    # response:                             # what the format does not already know
    #   finish_reason: {{ from: choices.0.finish_reason, map: {{ end_turn: stop }} }}
    #   usage: {{ prompt_tokens: usage.input_tokens }}

errors:
  message: error.message
  code: [error.code, error.type]
  table:                                    # first match wins; retry: true only when waiting helps
    - {{ status: 400, raise: BadRequestError }}
    - {{ status: 401, raise: AuthenticationError }}
    - {{ status: 403, raise: PermissionDeniedError }}
    - {{ status: 404, raise: NotFoundError }}
    - {{ status: 429, raise: RateLimitError, retry: true }}
    - {{ status: 500, raise: InternalServerError, retry: true }}
    - {{ status: 503, raise: ServiceUnavailableError, retry: true }}

# models:
#   discovery: {{ method: GET, path: /models }}
#   known:
#     - {{ id: example-model, context_window: 128000, tools: true }}
"""


def transcripts_text(name: str, parent: Parent | None) -> str:
    path = parent.chat_path if parent is not None else "/chat/completions"
    fmt = parent.chat_format if parent is not None else "openai"
    bearer = parent.bearer if parent is not None else True
    inherited = (
        f"# A spec that extends another inherits its transcripts: fixtures/{parent.name}/chat/ applies\n"
        f"# too, and an entry of the same name here replaces the parent's (`name: ~` removes one).\n"
        if parent is not None
        else ""
    )
    replaces = f"   # replaces the parent's entry of this name, if any: the prefix here is {name}/" if parent is not None else ""
    lines = [
        f"# What each recorded exchange with {display_name(name)}'s chat API must give. The format is documented",
        "# in specgen/conform/transcripts.py; specs/fixtures/anthropic/chat/transcripts.yaml is a complete",
        "# example. Record each wire file (response.json, stream.sse, error_<status>.json) beside this",
        "# one from the provider's docs, and name its source in ../SOURCES.md. `specgen conform "
        + f"{name}` checks",
        "# them; a declaration no transcript exercises is reported unverified, never passed.",
    ]
    text = "\n".join(lines) + "\n" + inherited + "\n"
    text += f"""\
requests:
  # TODO a request the provider documents: OpenAI-style params in, the exact wire request out
  prefixed_model:{replaces}
    source: https://example.com/docs/api     # TODO the documentation URL this request comes from, or: captured
    params:
      model: {name}/example-model
      messages: [{{role: user, content: Hello!}}]
    expect:
      method: POST
"""
    if path is not None and "{" not in path:
        text += f"      path: {_yaml_str(path)}\n"
    elif path is not None:
        text += f"      # path: {_yaml_str(path)} with its variables filled in     # TODO\n"
    if bearer:
        text += "      headers: {authorization: Bearer $API_KEY}\n"
    if fmt == "openai" and path is not None and "{" not in path:
        text += """\
      body:
        model: example-model
        messages: [{role: user, content: Hello!}]
"""
    else:
        text += "      # body: {...}                        # TODO the exact JSON body the provider documents\n"
    text += _removals(parent, "chat", skip="prefixed_model")
    text += """
# responses:                     # a recorded body in, the OpenAI-shaped result out (partial)
#   response.json:
#     expect: {choices: [{message: {role: assistant, content: Hello!}, finish_reason: stop}], usage: {prompt_tokens: 9}}
#   length:                      # a variant: the same body with a documented value substituted
#     file: response.json
#     set: {choices.0.finish_reason: length}
#     expect: {choices: [{finish_reason: length}]}

# streams:                       # a recorded stream in, the accumulated result out (partial)
#   stream.sse:
#     expect: {content: Hello!, finish_reason: stop}

# errors:                        # a recorded error body with its status in, the error class out
#   error_429.json:
#     status: 429
#     expect: {raise: RateLimitError}
"""
    return text


def _removals(parent: Parent | None, mode: str, skip: str = "") -> str:
    names = [n for n in (parent.prefixed.get(mode, []) if parent else []) if n != skip]
    if not names or parent is None:
        return ""
    text = f"  # {parent.name}'s, whose model carries its own naming prefix: removed; TODO write this provider's\n"
    return text + "".join(f"  {n}: ~\n" for n in names)


def other_mode_transcripts(name: str, mode: str, parent: Parent) -> str:
    return (
        f"# {display_name(name)}'s {mode} transcripts: fixtures/{parent.name}/{mode}/ applies too, and an entry of\n"
        f"# the same name here replaces the parent's. The format: specgen/conform/transcripts.py.\n\n"
        f"requests:\n{_removals(parent, mode)}"
    )


def sources_text(name: str) -> str:
    return f"""\
# {display_name(name)} fixture sources

Every wire file under `fixtures/{name}/` comes from the provider's documentation (or a recorded
exchange); say where, so a reviewer can check it.

| File | Source (URL, page title) | What was taken |
| --- | --- | --- |
| `chat/transcripts.yaml` | TODO | TODO |
"""


def _yaml_str(text: str) -> str:
    if re.match(r"^/[A-Za-z0-9/_.-]*\Z", text):
        return text
    import json

    return json.dumps(text)  # a JSON string is a YAML string


def scaffold(name: str, specs_dir: Path, parent: Parent | None) -> list[Path]:
    """Write the spec and its fixture skeletons; refuse (writing nothing) if any of them exists."""
    check_name(name)
    spec, transcripts, sources = targets(name, specs_dir)
    schema, _ = schema_ref(specs_dir)
    texts = {
        spec: spec_text(name, schema, parent),
        transcripts: transcripts_text(name, parent),
        sources: sources_text(name),
    }
    for mode in sorted(parent.prefixed if parent else ()):
        if mode != "chat" and parent is not None:
            texts[transcripts.parent.parent / mode / "transcripts.yaml"] = other_mode_transcripts(name, mode, parent)
    existing = [p for p in texts if p.exists()]
    if existing:
        raise ScaffoldError(f"{', '.join(str(p) for p in existing)} already exist{'s' if len(existing) == 1 else ''}; nothing was written")
    for path, text in texts.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
    return list(texts)
