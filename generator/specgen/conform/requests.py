"""The request group: what the adapter sends, checked against the spec and the request transcripts.

* :func:`self_checks` — the adapter does what each request declaration says: a mapped param
  arrives at its target (transformed; value maps, ranges, enums, defaults and required params
  enforced), an unsupported one is dropped or refused (globally and per model pattern), an
  alias sends what its target sends, unknown params follow the mode's policy, and auth, static
  headers, the endpoint path, the API version and the stream flag and endpoint are as declared;
* :func:`transcripts` — each recorded request transcript: its params through the generated
  client give exactly the documented wire request, and each declaration it exercises gets it as
  evidence (a param, auth, a header, the path, the API version, the stream flag).
"""

from __future__ import annotations

import copy
import fnmatch
import functools
import json
import re
from typing import Any

from specgen.build.ir import ModeIR, ParamIR
from specgen.conform import match as M
from specgen.conform import sigv4 as sigv4_check
from specgen.conform.fake import Received
from specgen.conform.mode_run import Call, ModeRun
from specgen.conform.samples import example_model, other_model, path_values, sample
from specgen.transcripts import ACCESS_TOKEN, API_KEY, Transcript
from specgen_runtime import errors as E
from specgen_runtime import wires

UNKNOWN_PARAM = "conform_unknown_param"
_UNSET: Any = object()  # a transcript param's value, when the caller has none to give


# ---------------------------------------------------------------------------- self-checks


def self_checks(run: ModeRun) -> None:
    """Every request declaration's self-check, each from one call through the Client."""
    L, m = run.ledger, run.mode
    base = run.call(run.base())
    if base.received is None:
        failure = f"the baseline request was not sent: {M.describe(base.error)}"
        for key, d in L.decls.items():
            if d.group == "request":
                L.self_check(key, failure)
        return
    body0 = base.body
    for prm in m.params:
        if prm.kind == "map":
            _check_param(run, prm, body0)
        else:
            _check_unsupported(run, prm)
    for name, target, _where in m.aliases:
        tprm = next((p for p in m.params if p.name == target), None)
        value = sample(target, tprm.transform if tprm else None, tprm.range if tprm else None, tprm.enum if tprm else None)
        via_alias = run.call({**run.base(), name: value})
        direct = run.call({**run.base(), target: value})
        if via_alias.received is None or direct.received is None:
            L.self_check(("alias", name), f"alias call not sent: {M.describe(via_alias.error or direct.error)}")
        else:
            diffs = M.diff(direct.body, via_alias.body, exact=True)
            L.self_check(("alias", name), M.first(diffs))
    _check_leftovers(run, body0)
    for i, rule in enumerate(m.rules):
        _check_rule(run, str(i), rule)
    _check_auth_headers_path(run, base)
    _check_surfaces_and_body_fields(run)
    if run.ir.google_auth is not None:
        _check_token_refresh(run)
    if m.stream is not None:
        _check_stream_request(run)


def _check_param(run: ModeRun, prm: ParamIR, body0: Any) -> None:
    L = run.ledger
    value = sample(prm.name, prm.transform, prm.range, prm.enum)
    got = run.call({**run.base(), prm.name: value})
    key = ("param", prm.name)
    if got.received is None:
        L.self_check(key, f"{prm.name}={M.show(value)} was refused: {M.describe(got.error)}")
    else:
        expected = _mapped(prm, value)
        if expected is not None and prm.transform:
            expected = wires.transforms()[prm.transform].function(expected)
        if expected is None and prm.location != "query":  # a value mapped to null: nothing is sent
            after = M.get(got.body, prm.to)
            L.self_check(key, None if after is M._MISSING else f"{prm.name}={M.show(value)}: expected nothing at {'.'.join(prm.to)}, received {M.show(after)}")
        elif prm.location == "query":
            received = _query1(got.received, ".".join(prm.to))
            exp_q = str(expected)
            L.self_check(key, None if received == exp_q else f"query {'.'.join(prm.to)}: expected {M.show(exp_q)}, received {M.show(received)}")
        else:
            before = M.get(body0, prm.to)
            if prm.merge and isinstance(before, dict) and isinstance(expected, dict):
                expected = {**before, **expected}
            after = M.get(got.body, prm.to)
            root = _params_root(run.mode)
            if root:
                after = M.get(got.body, (*root, *prm.to))
            # a merged value may gain keys from the format's finishing step (Anthropic's tool_choice.type)
            diffs = M.diff(expected, after if after is not M._MISSING else "<nothing>", exact=not prm.merge, where=("body", *root, *prm.to))
            L.self_check(key, M.first(diffs))
    if prm.range:
        lo, hi = prm.range
        fails = []
        for edge in (lo, hi):
            if edge is not None and run.call({**run.base(), prm.name: edge}).received is None:
                fails.append(f"{prm.name}={edge!r} (inside the range) was refused")
        for outside in ((lo - 1) if lo is not None else None, (hi + 1) if hi is not None else None):
            if outside is None:
                continue
            c = run.call({**run.base(), prm.name: outside})
            if not isinstance(c.error, E.UnsupportedParamsError) or c.received is not None:
                fails.append(f"{prm.name}={outside!r}: expected UnsupportedParamsError before sending, received {M.describe(c.error) if c.error else 'a sent request'}")
        L.self_check(("range", prm.name), fails[0] if fails else None)
    if prm.enum:
        c = run.call({**run.base(), prm.name: "conform-not-in-enum"})
        ok = isinstance(c.error, E.UnsupportedParamsError) and c.received is None
        L.self_check(("enum", prm.name), None if ok else f"{prm.name} outside {prm.enum}: expected UnsupportedParamsError, received {M.describe(c.error) if c.error else 'a sent request'}")
    if prm.values or prm.field_values:
        _check_values(run, prm)
    if prm.has_default:
        c = run.call(run.base())
        exp = _mapped(prm, prm.default)
        if prm.transform and exp is not None:
            exp = wires.transforms()[prm.transform].function(exp)
        diffs = M.diff(exp, M.get(c.body, prm.to), exact=True, where=("body", *prm.to)) if prm.location == "body" else []
        L.self_check(("default", prm.name), M.first(diffs))
    if prm.required:
        c = run.call(run.base())
        ok = isinstance(c.error, E.BadRequestError) and c.received is None
        L.self_check(("required", prm.name), None if ok else f"without {prm.name}: expected BadRequestError, received {M.describe(c.error) if c.error else 'a sent request'}")


def _check_values(run: ModeRun, prm: ParamIR) -> None:
    """Each entry of a value map: the OpenAI value sent arrives as the provider's (transformed)."""
    cases: list[tuple[Any, Any]] = [(k, v) for k, v in prm.values]
    base = sample(prm.name, prm.transform, None, None)
    for path, pairs in prm.field_values:
        for k, v in pairs:
            sent, want = copy.deepcopy(base if isinstance(base, dict) else {}), copy.deepcopy(base if isinstance(base, dict) else {})
            M.set_at(sent, ".".join(path), k)
            M.set_at(want, ".".join(path), v)
            cases.append((sent, want))
    fails = []
    for sent, want in cases:
        c = run.call({**run.base(), prm.name: sent})
        if c.received is None:
            fails.append(f"{prm.name}={M.show(sent)} was refused: {M.describe(c.error)}")
            continue
        root = _params_root(run.mode)
        got = _query1(c.received, ".".join(prm.to)) if prm.location == "query" else M.get(c.body, (*root, *prm.to))
        if want is None:  # mapped to null: nothing is sent
            if got is not None and got is not M._MISSING:
                fails.append(f"{prm.name}={M.show(sent)}: expected nothing at {'.'.join(prm.to)}, received {M.show(got)}")
            continue
        expected = wires.transforms()[prm.transform].function(want) if prm.transform else want
        if prm.location == "query":
            expected = str(expected)
        fails += M.diff(expected, got, exact=not prm.merge, where=("body", *root, *prm.to))
    run.ledger.self_check(("values", prm.name), fails[0] if fails else None)


def _check_unsupported(run: ModeRun, prm: ParamIR) -> None:
    value = prm.enum[0] if prm.enum else sample(prm.name, None, None, None)
    c = run.call({**run.base(), prm.name: value})
    key = ("unsupported", prm.name)
    if prm.kind == "refuse":
        ok = isinstance(c.error, E.UnsupportedParamsError) and c.received is None
        run.ledger.self_check(key, None if ok else f"{prm.name}: expected UnsupportedParamsError before sending, received {M.describe(c.error) if c.error else 'a sent request'}")
        return
    if c.received is None:
        run.ledger.self_check(key, f"{prm.name}={M.show(value)} should be dropped, but: {M.describe(c.error)}")
        return
    if _mentions(c.body, prm.name):
        run.ledger.self_check(key, f"{prm.name} should be dropped, received body {M.show(c.body)}")
        return
    if prm.enum:
        c = run.call({**run.base(), prm.name: "conform-not-in-enum"})
        if not isinstance(c.error, E.UnsupportedParamsError):
            run.ledger.self_check(key, f"{prm.name} outside {prm.enum}: expected UnsupportedParamsError, received {M.describe(c.error) if c.error else 'a sent request'}")
            return
    run.ledger.self_check(key, None)


def _check_leftovers(run: ModeRun, body0: Any) -> None:
    c = run.call({**run.base(), UNKNOWN_PARAM: "x"})
    policy = run.mode.unsupported
    if policy == "refuse":
        ok = isinstance(c.error, E.UnsupportedParamsError) and c.received is None
        failure = None if ok else f"an unknown param: expected UnsupportedParamsError, received {M.describe(c.error) if c.error else 'a sent request'}"
    elif policy == "passthrough":
        failure = None if (c.received and isinstance(c.body, dict) and c.body.get(UNKNOWN_PARAM) == "x") else f"an unknown param should pass through to the body, received {M.show(c.body)}"
    else:
        failure = M.first(M.diff(body0, c.body, exact=True)) if c.received else f"an unknown param should be dropped, but: {M.describe(c.error)}"
    run.ledger.self_check(("leftovers",), failure)


def _check_rule(run: ModeRun, key: str, rule: Any) -> None:
    model = example_model(rule.patterns)
    other = other_model(rule.patterns, run.model)
    fails: list[str] = []
    for name in rule.drop:
        c = run.call({**run.base(model), name: sample(name, None, None, None)})
        if c.received is None or _mentions(c.body, name):
            fails.append(f"{name} not dropped for {model}: {M.describe(c.error) if c.error else M.show(c.body)}")
        if other is not None:
            o = run.call({**run.base(other), name: sample(name, None, None, None)})
            if o.received is not None and not _mentions(o.body, name) and run.mode.unsupported == "passthrough":
                fails.append(f"{name} dropped for {other} too, which no pattern matches")
    for name in rule.refuse:
        c = run.call({**run.base(model), name: sample(name, None, None, None)})
        if not isinstance(c.error, E.UnsupportedParamsError) or c.received is not None:
            fails.append(f"{name} not refused for {model}: {M.describe(c.error) if c.error else 'a sent request'}")
    for old, new in rule.rename:
        value = sample(new, None, None, None)
        a = run.call({**run.base(model), old: value})
        if old in run.base(model):  # a param every call carries (embeddings' input): its value must arrive renamed
            if a.error or a.received is None or not _mentions_value(a.body, value):
                fails.append(f"rename {old} → {new} for {model}: {M.describe(a.error) if a.error else 'the value was not sent'}")
            continue
        b = run.call({**run.base(model), new: value})
        if a.error or b.error:
            fails.append(f"rename {old} → {new} for {model}: {M.describe(a.error or b.error)}")
        else:
            d = M.diff(b.body, a.body, exact=True)
            if d:
                fails.append(f"rename {old} → {new} for {model}: {d[0]}")
    run.ledger.self_check(("rule", key), fails[0] if fails else None)


def _mentions_value(body: Any, value: Any) -> bool:
    """Whether ``value`` (or a list holding only it) is somewhere in ``body``."""
    if body == value or body == [value]:
        return True
    if isinstance(body, dict):
        return any(_mentions_value(v, value) for v in body.values())
    if isinstance(body, list):
        return any(_mentions_value(v, value) for v in body)
    return False


def _check_auth_headers_path(run: ModeRun, base: Call) -> None:
    L, ir, m = run.ledger, run.ir, run.mode
    rec = base.received
    assert rec is not None
    if ir.auth_type == "bearer":
        exp = "Bearer " + ir.auth_prefix + API_KEY
        got = rec.headers.get("authorization")
        L.self_check(("auth",), None if got == exp else f"authorization: expected {M.show(exp)}, received {M.show(got)}")
    elif ir.auth_type == "header" and ir.auth_header:
        exp = ir.auth_prefix + API_KEY
        got = rec.headers.get(ir.auth_header.lower())
        L.self_check(("auth",), None if got == exp else f"{ir.auth_header}: expected {M.show(exp)}, received {M.show(got)}")
    elif ir.auth_type == "query" and ir.auth_query:
        got = _query1(rec, ir.auth_query)
        L.self_check(("auth",), None if got == ir.auth_prefix + API_KEY else f"query {ir.auth_query}: received {M.show(got)}")
    elif ir.auth_type == "token":  # the key was exchanged (at the fake token endpoint) for ACCESS_TOKEN
        name, exp = _token_header(ir)
        got = rec.headers.get(name)
        exchange = run.token_fake.received[-1] if run.token_fake is not None and run.token_fake.received else None
        sent_key = exchange is not None and API_KEY in exchange.body.decode("utf-8", "replace") + json.dumps(exchange.headers)
        failure = None if got == exp else f"{name}: expected {M.show(exp)}, received {M.show(got)}"
        L.self_check(("auth",), failure or (None if sent_key else "the token endpoint did not receive the API key"))
    elif ir.auth_type == "google":  # google-auth signed a JWT for the service account and got ACCESS_TOKEN
        name, exp = _token_header(ir)
        got = rec.headers.get(name)
        exchange = run.token_fake.received[-1] if run.token_fake is not None and run.token_fake.received else None
        grant = exchange is not None and "grant-type%3Ajwt-bearer" in exchange.body.decode("utf-8", "replace")
        failure = None if got == exp else f"{name}: expected {M.show(exp)}, received {M.show(got)}"
        L.self_check(("auth",), failure or (None if grant else "the token endpoint received no JWT-bearer grant (is google-auth installed? pip install 'specgen-providers[gcp]')"))
    elif ir.auth_type == "sigv4":  # an API key is a bearer token; without one the client signs
        got = rec.headers.get("authorization")
        failure = None if got == "Bearer " + API_KEY else f"authorization (an API key): expected {M.show('Bearer ' + API_KEY)}, received {M.show(got)}"
        L.self_check(("auth",), failure or sigv4_check.signed_call(run))
        # the signing itself, against AWS's published SigV4 test vectors
        count, fails = sigv4_check.failures()
        L.evidence(("auth",), f"aws4_testsuite ({count} vectors)", fails[0] if fails else None)
    for name, value in ir.headers:
        got = rec.headers.get(name)
        L.self_check(("header", name), None if got == value else f"header {name}: expected {M.show(value)}, received {M.show(got)}")
    version = ir.version_default
    exp_path = endpoint_path(run, run.model, version)
    L.self_check(("path",), None if rec.path == exp_path and rec.method == m.method else f"expected {m.method} {exp_path}, received {rec.method} {rec.path}")
    if ir.versions_where:
        L.self_check(("version", "default"), None if rec.path == exp_path else f"path: expected {exp_path}, received {rec.path}")
        for var, pats, version_o, _where in ir.version_overrides:
            model = example_model(pats)
            c = run.call(run.base(model))
            exp = endpoint_path(run, model, version_o)
            got = c.received.path if c.received else M.describe(c.error)
            L.self_check(("version", var), None if got == exp else f"model {model}: expected path {exp}, received {got}")


def _check_token_refresh(run: ModeRun) -> None:
    """auth google: a token about to expire is refreshed before the next call, once; concurrent
    calls (threads of one Client, tasks of one AsyncClient) share one refresh. Each part gets fresh
    credentials (the run's, rescoped: no token yet) and the fake token endpoint's answers in turn."""
    import asyncio
    import threading

    from specgen.conform.fake import Reply

    creds, tokens = run.options.get("credentials"), run.token_fake
    if creds is None or tokens is None or not callable(getattr(creds, "with_scopes", None)):
        run.ledger.self_check(("auth_refresh",), "google-auth is not installed: pip install 'specgen-providers[gcp]'")
        return

    def token(value: str, expires_in: int) -> Reply:
        return Reply.json({"access_token": value, "expires_in": expires_in, "token_type": "Bearer"})

    def client(asynchronous: bool = False) -> Any:
        options = {**run.options, "credentials": creds.with_scopes(list(creds.scopes or ()))}
        if asynchronous:
            return run.module.AsyncClient(base_url=run.fake.url, max_retries=0, timeout=10.0, **options)
        return run.module.Client(base_url=run.fake.url, max_retries=0, http_client=run.http, **options)

    def bearer(tokens_sent: int, values: list[str]) -> str | None:
        got = [r.headers.get("authorization") for r in run.fake.received]
        if len(tokens.received) != tokens_sent:
            return f"the token endpoint was called {len(tokens.received)} times, expected {tokens_sent}"
        want = ["Bearer " + v for v in values]
        return None if got == want else f"authorization: expected {M.show(want)}, received {M.show(got)}"

    failure: str | None = None
    saved, saved_fake = tokens.default, run.fake.default
    try:
        run.fake.reset()
        tokens.reset()
        run.fake.default = run.ok_reply
        # 30 s to live is inside the 60 s refresh margin: the next call refreshes it, the third does not
        tokens.queue(token("conform-short-lived", 30), token("conform-refreshed", 3600))
        method = getattr(client(), run.mode.name)
        for _ in range(3):
            method(**run.base())
        failure = bearer(2, ["conform-short-lived", "conform-refreshed", "conform-refreshed"])
        if failure is None:  # four threads at once, the token endpoint answering late: one refresh
            run.fake.reset()
            tokens.reset()
            gate = threading.Event()
            tokens.queue(Reply(**{**token("conform-shared", 3600).__dict__, "hold": gate}))
            method = getattr(client(), run.mode.name)
            threads = [threading.Thread(target=method, kwargs=run.base()) for _ in range(4)]
            for t in threads:
                t.start()
            threading.Timer(0.2, gate.set).start()
            for t in threads:
                t.join(30)
            failure = bearer(1, ["conform-shared"] * 4)
        if failure is None:  # four tasks at once: one refresh
            run.fake.reset()
            tokens.reset()
            tokens.queue(token("conform-async", 3600))

            async def tasks() -> None:
                async with client(asynchronous=True) as ac:
                    await asyncio.gather(*(getattr(ac, run.mode.name)(**run.base()) for _ in range(4)))

            asyncio.run(tasks())
            failure = bearer(1, ["conform-async"] * 4)
    except Exception as exc:  # a call that failed: the check fails with it
        failure = f"a call failed: {M.describe(exc)}"
    finally:
        tokens.default, run.fake.default = saved, saved_fake
        run.fake.reset()
        tokens.reset()
    run.ledger.self_check(("auth_refresh",), failure)


def _check_surfaces_and_body_fields(run: ModeRun) -> None:
    """``endpoint.by_api_version``: a call with each listed version goes to its path; a
    ``path_params`` entry ``in: body``: a value given to the call arrives as that body field."""
    L = run.ledger
    for versions, _expr, _query, _where in run.mode.version_endpoints:
        c = run.call(run.base(), api_version=versions[0])
        exp = endpoint_path(run, run.model, versions[0])
        got = c.received.path if c.received else M.describe(c.error)
        L.self_check(("surface", versions[0]), None if got == exp else f"api_version {versions[0]}: expected path {exp}, received {got}")
    for name, _required in run.ir.body_fields:
        value = "conform-" + name.replace("_", "-")
        c = run.call({**run.base(), name: value})
        field = M.get(c.body, (name,)) if c.received else M._MISSING
        L.self_check(("body_field", name), None if field == value else f"{name}: expected body.{name} {M.show(value)}, received {M.describe(c.error) if c.error else M.show(field)}")


def endpoint_path(run: ModeRun, model: str, version: str | None, stream: bool = False) -> str:
    """The endpoint path the spec declares, with its variables filled in."""
    from urllib.parse import quote

    data = run.spec.data["modes"][run.mode.name]
    template = str(data["endpoint"]["path"])
    for alt in data["endpoint"].get("by_api_version") or ():  # another surface for this version
        versions = alt["api_version"] if isinstance(alt["api_version"], list) else [alt["api_version"]]
        if version in versions:
            template = str(alt["path"])
            break
    if stream and data.get("stream") is not None and "path" in (data["stream"].get("endpoint") or {}):
        template = str(data["stream"]["endpoint"]["path"])
    values = {"model": model, "api_version": version or ""}
    values.update(path_values(run.ir.path_params))
    for name, value in values.items():
        template = template.replace("{" + name + "}", quote(str(value), safe="@"))  # as path_quote
    return template


def _check_stream_request(run: ModeRun) -> None:
    s = run.mode.stream
    assert s is not None
    reply = run.stream_reply()
    c = run.call({**run.base(), "stream": True}, replies=[reply])
    if c.received is None:
        run.ledger.self_check(("stream_flag",), f"stream request not sent: {M.describe(c.error)}")
        run.ledger.self_check(("stream_path",), f"stream request not sent: {M.describe(c.error)}")
        return
    if s.flag:
        got = M.get(c.body, s.flag)
        failure = None if got is True else f"body.{'.'.join(s.flag)}: expected true, received {M.show(got if got is not M._MISSING else None)}"
        if failure is None and s.flag_when_off:
            off = run.call(run.base())
            got_off = M.get(off.body, s.flag)
            failure = None if got_off is False else f"without stream: body.{'.'.join(s.flag)}: expected false, received {M.show(got_off)}"
        run.ledger.self_check(("stream_flag",), failure)
    if s.path_expr or s.query is not None:
        exp = endpoint_path(run, run.model, run.ir.version_default, stream=True)
        fails = [] if c.received.path == exp else [f"stream path: expected {exp}, received {c.received.path}"]
        values = {"api_version": run.ir.version_default or "", **path_values(run.ir.path_params)}
        for k, v in s.query or ():
            got = _query1(c.received, k)
            v = re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), v)
            if got != v:
                fails.append(f"stream query {k}: expected {M.show(v)}, received {M.show(got)}")
        run.ledger.self_check(("stream_path",), fails[0] if fails else None)


# ---------------------------------------------------------------------------- request transcripts


def transcripts(run: ModeRun) -> None:
    """Each request transcript: a check of its own, and evidence for what it exercises."""
    for t in run.by_kind.get("requests", ()):
        failure = _run_transcript(run, t)
        run.transcript_result("request", t, failure)


def _run_transcript(run: ModeRun, t: Transcript) -> str | None:
    L, ir, m = run.ledger, run.ir, run.mode
    params = dict(t.params)
    expect = _substitute(t.expect)
    if t.owner and t.owner != ir.name:
        params, expect = _as_own(run, t, params, expect)
    model = ir.bare_model(str(params.get("model", run.model)))
    reply = run.stream_reply() if params.get("stream") and m.stream is not None else run.ok_reply
    c = run.call(params, api_version=t.options.get("api_version"), replies=[reply])
    if t.raises:
        got = type(c.error).__name__ if c.error else None
        failure = None if got == t.raises and c.received is None else f"expected {t.raises} before sending, received {M.describe(c.error) if c.error else 'a sent request'}"
        for name in params:
            _attribute_param(run, name, t.label, failure, params[name])
        return failure
    if c.received is None:
        failure = f"expected the request to be sent, received {M.describe(c.error)}"
        for name in params:
            _attribute_param(run, name, t.label, failure, params[name])
        return failure
    rec = c.received
    diffs: list[str] = []
    if "method" in expect and rec.method != expect["method"]:
        diffs.append(f"method: expected {expect['method']}, received {rec.method}")
    path_fail = None
    if "path" in expect and rec.path != expect["path"]:
        path_fail = f"path: expected {expect['path']}, received {rec.path}"
        diffs.append(path_fail)
    query_fail = None
    if "query" in expect:
        got_q = {k: v[0] if len(v) == 1 else v for k, v in rec.query.items()}
        qd = M.diff({str(k): str(v) for k, v in expect["query"].items()}, got_q, exact=True, where=("query",))
        query_fail = M.first(qd)
        diffs.extend(qd)
    header_fails: dict[str, str | None] = {}
    for name, value in (expect.get("headers") or {}).items():
        got = rec.headers.get(str(name).lower())
        header_fails[str(name).lower()] = None if got == str(value) else f"header {name}: expected {M.show(value)}, received {M.show(got)}"
    diffs.extend(f for f in header_fails.values() if f)
    body_diffs: list[str] = []
    if "body" in expect:
        body_diffs = M.diff(expect["body"], c.body, exact=True, where=("body",))
        diffs.extend(body_diffs)
    failure = "; ".join(diffs[:4]) + (f" (+{len(diffs) - 4} more)" if len(diffs) > 4 else "") if diffs else None

    # attribute: each named param, auth, headers, path, version, stream flag
    if "body" in expect or "query" in expect:
        body_failure = M.first(body_diffs) or query_fail
        for name in params:
            _attribute_param(run, name, t.label, body_failure if body_failure else None, params[name])
    if ir.auth_type == "header" and ir.auth_header and ir.auth_header.lower() in header_fails:
        L.evidence(("auth",), t.label, header_fails[ir.auth_header.lower()])
    elif ir.auth_type == "bearer" and "authorization" in header_fails:
        L.evidence(("auth",), t.label, header_fails["authorization"])
    elif ir.auth_type == "query" and ir.auth_query and ir.auth_query in (expect.get("query") or {}):
        L.evidence(("auth",), t.label, query_fail)
    elif ir.auth_type in ("token", "google") and _token_header(ir)[0] in header_fails:
        L.evidence(("auth",), t.label, header_fails[_token_header(ir)[0]])
    for name, _v in ir.headers:
        if name in header_fails:
            L.evidence(("header", name), t.label, header_fails[name])
    if "path" in expect:
        streaming = bool(params.get("stream")) and m.stream is not None and (m.stream.path_expr or m.stream.query is not None)
        L.evidence(("stream_path",) if streaming else ("path",), t.label, path_fail or (query_fail if streaming else None))
        if ir.versions_where and not t.options.get("api_version"):
            var = next((v for v, pats, _ver, _w in ir.version_overrides if any(fnmatch.fnmatchcase(model, p) for p in pats)), "default")
            L.evidence(("version", var), t.label, path_fail)
        version = t.options.get("api_version") or next(
            (ver for _v, pats, ver, _w in ir.version_overrides if any(fnmatch.fnmatchcase(model, p) for p in pats)), ir.version_default
        )
        for versions, _expr, _query, _where in m.version_endpoints:
            if version in versions:
                L.evidence(("surface", versions[0]), t.label, path_fail or query_fail)
                break
    if "body" in expect:
        for name, _required in ir.body_fields:
            if name in params:
                L.evidence(("body_field", name), t.label, M.first(M.diff(expect["body"].get(name), c.body.get(name) if isinstance(c.body, dict) else None)))
    if params.get("stream") and m.stream is not None and m.stream.flag and "body" in expect:
        flag = M.get(expect["body"], m.stream.flag)
        if flag is not M._MISSING:
            L.evidence(("stream_flag",), t.label, M.first(M.diff(flag, M.get(c.body, m.stream.flag))))
    return failure


def _as_own(run: ModeRun, t: Transcript, params: dict[str, Any], expect: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A parent's request transcript as this child sends it: the child's own model prefix for
    the parent's, the child's auth for the parent's, and the child's endpoint path (with its
    template variables) when the child declares another (the wire request is what is checked)."""
    ir = run.ir
    model = params.get("model")
    parent_prefix = f"{t.owner}/"
    if isinstance(model, str) and model.startswith(parent_prefix):
        params["model"] = (ir.model_prefix or "") + model[len(parent_prefix) :]
    parent_endpoint = _parent_endpoint(run, t.owner)
    if "path" in expect and parent_endpoint is not None and not t.options.get("api_version"):
        streaming = bool(params.get("stream")) and run.mode.stream is not None
        own = run.spec.data["modes"][run.mode.name]["endpoint"]
        if (own.get("path"), own.get("query")) != parent_endpoint and expect["path"] == parent_endpoint[0]:
            bare = ir.bare_model(str(params.get("model", run.model)))
            expect = {**expect, "path": endpoint_path(run, bare, ir.version_default, stream=streaming)}
    headers = expect.get("headers")
    if isinstance(headers, dict) and any(API_KEY in str(v) for v in headers.values()):
        own = {k: v for k, v in headers.items() if API_KEY not in str(v)}
        if ir.auth_type == "bearer":
            own["authorization"] = "Bearer " + ir.auth_prefix + API_KEY
        elif ir.auth_type == "header" and ir.auth_header:
            own[ir.auth_header.lower()] = ir.auth_prefix + API_KEY
        elif ir.auth_type in ("token", "google"):
            name, value = _token_header(ir)
            own[name] = value
        expect = {**expect, "headers": own}
    return params, expect


def _parent_endpoint(run: ModeRun, owner: str) -> tuple[Any, Any] | None:
    """The endpoint (path, query) the spec ``owner`` declares for this mode, when it is one the
    child extends (its transcripts are then inherited)."""
    for src in run.spec.sources[1:]:
        if src.stem == owner:
            return _declared_endpoint(str(src), run.mode.name)
    return None


@functools.lru_cache(maxsize=64)
def _declared_endpoint(source: str, mode: str) -> tuple[Any, Any]:
    """The endpoint a spec file declares itself for ``mode`` (path, query), read once per run."""
    from pathlib import Path

    from specgen.spec.loader import load_yaml

    data = load_yaml(Path(source), Path(source).name) or {}
    endpoint = ((data.get("modes") or {}).get(mode) or {}).get("endpoint") or {}
    return endpoint.get("path"), endpoint.get("query")


def _attribute_param(run: ModeRun, name: str, transcript: str, failure: str | None, value: Any = _UNSET) -> None:
    if name in ("model", "messages", "stream", "extra_body", "extra_headers") or (name == "input" and not run.mode.input_param):
        return
    alias = next((target for n, target, _w in run.mode.aliases if n == name), None)
    if alias is not None:
        run.ledger.evidence(("alias", name), transcript, failure)
        name = alias
    for key in (("param", name), ("unsupported", name)):
        run.ledger.evidence(key, transcript, failure)
    prm = next((p for p in run.mode.params if p.name == name and (p.values or p.field_values)), None)
    if prm is not None and value is not _UNSET and _value_mapped(prm, value):
        run.ledger.evidence(("values", name), transcript, failure)


# ---------------------------------------------------------------------------- small helpers


def _mapped(prm: ParamIR, value: Any) -> Any:
    """``value`` through the param's value maps (None when mapped to null: sent as nothing)."""
    from specgen_runtime.core import MISSING, map_field, map_value

    out = map_value(value, tuple(prm.values)) if prm.values else value
    for path, pairs in prm.field_values:
        out = map_field(out, path, tuple(pairs))
    return None if out is MISSING else out


def _value_mapped(prm: ParamIR, value: Any) -> bool:
    """Whether a transcript's value for ``prm`` goes through one of its value-map entries."""
    from specgen_runtime.core import get_path, map_value

    if prm.values and map_value(value, tuple(prm.values)) is not value:
        return True
    return any(
        isinstance(value, dict) and map_value(get_path(value, path), tuple(pairs)) is not get_path(value, path)
        for path, pairs in prm.field_values
    )


def _query1(received: Received, name: str) -> str | None:
    values = received.query.get(name)
    return values[0] if values else None


def _params_root(mode: ModeIR) -> tuple[str, ...]:
    """Where a format puts mapped params (Gemini batchEmbedContents: inside each request)."""
    return wires.load(mode.format).PARAMS_ROOT.get(mode.name, ())


def _mentions(body: Any, name: str) -> bool:
    return isinstance(body, dict) and name in body


def _token_header(ir: Any) -> tuple[str, str]:
    """Where a token-auth spec sends the access token, and what the header holds in conformance."""
    if ir.auth_header:
        return ir.auth_header.lower(), ir.auth_prefix + ACCESS_TOKEN
    return "authorization", "Bearer " + ir.auth_prefix + ACCESS_TOKEN


def _substitute(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("$API_KEY", API_KEY).replace("$ACCESS_TOKEN", ACCESS_TOKEN)
    if isinstance(value, dict):
        return {k: _substitute(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v) for v in value]
    return value
