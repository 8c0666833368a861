"""Writes ``docs/api-reference.md`` from the server's OpenAPI schema.

``python -m engine.server.apidoc`` rewrites the file; ``--check`` exits 1 when
the committed file is out of date (a test runs it). Every operation gets its
roles, parameters, body fields, answers, and a curl and a Python (httpx)
example, so the reference cannot drift from the code.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "api-reference.md"
BASE = "https://flowdesk.example.com"

# Example bodies for the operations where a generated one would say little.
EXAMPLES: dict[tuple[str, str], Any] = {
    ("post", "/api/v1/auth/login"): {"username": "ann", "password": "correct horse battery"},
    ("post", "/api/v1/auth/refresh"): {"refresh_token": "$REFRESH"},
    ("post", "/api/v1/auth/logout"): {"refresh_token": "$REFRESH"},
    ("post", "/api/v1/auth/password"): {"current_password": "old secret",
                                        "new_password": "a better secret"},
    ("post", "/api/v1/flows"): {"format": "flowdesk/1", "name": "hello",
                                "nodes": [{"id": "start", "kind": "start"},
                                          {"id": "end", "kind": "end"}],
                                "edges": [{"from": "start", "to": "end"}]},
    ("post", "/api/v1/runs"): {"flow": "hello", "inputs": {"who": "world"}},
    ("post", "/api/v1/runs/{run_id}/cancel"): {"node": "fetch"},
    ("post", "/api/v1/approvals/{run_id}/{node_id}"): {"approved": True,
                                                       "comment": "looks good"},
    ("post", "/api/v1/users"): {"username": "ann", "password": "correct horse battery",
                                "roles": ["designer"]},
    ("put", "/api/v1/users/{username}/roles"): {"roles": ["operator", "viewer"]},
    ("put", "/api/v1/users/{username}/password"): {"password": "a new secret"},
    ("put", "/api/v1/users/{username}/disabled"): {"disabled": True},
}
PATH_EXAMPLES = {"run_id": "3f2a9c0e5b7d4e1f8a6b2c9d0e1f2a3b", "node_id": "approve",
                 "name": "hello", "version": "1", "username": "ann"}
INTRO = """\
# Flowdesk HTTP API reference

*Generated from the server's OpenAPI schema by `python -m engine.server.apidoc`;
do not edit by hand.* A running server also serves the schema at `/openapi.json`
and interactive docs at `/docs`.

Every path is under `/api/v1` (besides `/health`, also answered at the root).
Sign in with `POST /api/v1/auth/login`, then send the access token as
`Authorization: Bearer $TOKEN`. Access tokens live 15 minutes; trade the
refresh token for a new pair with `POST /api/v1/auth/refresh` (each refresh
token works once; reusing one ends the whole session). Every refusal answers
`{"detail": "<one sentence>"}`; a flow that does not validate adds `problems`.

The examples assume:

```sh
BASE=https://flowdesk.example.com
TOKEN=$(curl -s -X POST $BASE/api/v1/auth/login -H 'Content-Type: application/json' \\
  -d '{"username": "ann", "password": "correct horse battery"}' | jq -r .access_token)
```

```python
import httpx

base = "https://flowdesk.example.com/api/v1"
pair = httpx.post(f"{base}/auth/login",
                  json={"username": "ann", "password": "correct horse battery"}).json()
client = httpx.Client(base_url=base,
                      headers={"Authorization": f"Bearer {pair['access_token']}"})
```

Roles: `admin` may call everything; `designer` deploys flows and starts runs;
`operator` starts, cancels and retries runs and decides approvals; `viewer`
reads. Each operation below names the roles that may call it.
"""


def _ref(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _type(schema: dict[str, Any], spec: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[1]
    if "anyOf" in schema:
        kinds = [_type(s, spec) for s in schema["anyOf"]]
        return " or ".join(k for k in kinds if k != "null") + (
            " or null" if "null" in kinds else "")
    if "enum" in schema:
        return " \\| ".join(f"`{v}`" for v in schema["enum"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list of {_type(schema.get('items', {}), spec)}"
    if kind == "object" and "additionalProperties" in schema:
        return "object"
    return str(kind)


def _limits(schema: dict[str, Any]) -> str:
    parts = []
    for key, text in (("minimum", "≥"), ("maximum", "≤"), ("minLength", "length ≥"),
                      ("maxLength", "length ≤")):
        if key in schema:
            parts.append(f"{text} {schema[key]}")
    for sub in schema.get("anyOf", []):
        parts.extend(p for p in [_limits(sub)] if p)
    return ", ".join(parts)


def _example_value(schema: dict[str, Any], spec: dict[str, Any], depth: int = 0) -> Any:
    schema = _ref(schema, spec)
    if "anyOf" in schema:
        return _example_value(next(s for s in schema["anyOf"] if s.get("type") != "null"),
                              spec, depth)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" and depth < 3:
        return {k: _example_value(v, spec, depth + 1)
                for k, v in schema.get("properties", {}).items()
                if k in schema.get("required", [])}
    return {"string": "text", "integer": 1, "number": 1.0, "boolean": True,
            "array": []}.get(str(kind), {})


def _body(op: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any] | None:
    content = op.get("requestBody", {}).get("content", {}).get("application/json")
    return content["schema"] if content else None


def _curl(method: str, path: str, body: Any, public: bool, stream: bool) -> str:
    lines = [f"curl{' -N' if stream else ''} -X {method.upper()} \"$BASE{path}\""]
    if not public:
        lines.append("  -H \"Authorization: Bearer $TOKEN\"")
    if body is not None:
        lines.append("  -H 'Content-Type: application/json'")
        lines.append(f"  -d '{json.dumps(body)}'")
    return " \\\n".join(lines)


def _python(method: str, path: str, body: Any, public: bool, stream: bool) -> str:
    rel = path.removeprefix("/api/v1")
    target = f'f"{{base}}{rel}"' if public else f'"{rel}"'
    caller = "httpx" if public else "client"
    if rel == path:  # /health at the root
        target, caller = f'"{BASE}{path}"', "httpx"
    args = [target]
    if body is not None:
        args.append(f"json={body!r}")
    if stream:
        return (f"with {caller}.stream(\"{method.upper()}\", {', '.join(args)}, "
                "timeout=None) as r:\n    for line in r.iter_lines():\n"
                "        print(line)  # id: …, event: …, data: {…}")
    return f"r = {caller}.{method}({', '.join(args)})\nprint(r.status_code, r.text)"


def render(spec: dict[str, Any]) -> str:
    out = [INTRO]
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            by_tag.setdefault((op.get("tags") or ["server"])[0], []).append((method, path, op))
    for tag in ("server", "auth", "flows", "runs", "approvals", "users"):
        out.append(f"## {tag.capitalize()}\n")
        for method, path, op in by_tag.pop(tag, []):
            out.append(_operation(method, path, op, spec))
    for tag, ops in sorted(by_tag.items()):
        out.append(f"## {tag.capitalize()}\n")
        out.extend(_operation(m, p, o, spec) for m, p, o in ops)
    out.append(_schemas(spec))
    return "\n".join(out).rstrip() + "\n"


def _operation(method: str, path: str, op: dict[str, Any], spec: dict[str, Any]) -> str:
    roles = op.get("x-roles", [])
    public = roles == ["public"]
    stream = "text/event-stream" in op.get("responses", {}).get("200", {}).get("content", {})
    lines = [f"### `{method.upper()} {path}`\n", (op.get("description") or op["summary"])
             .replace("``", "`") + "\n",
             "**Who:** " + ("anyone, no token needed" if public else
                            ", ".join(f"`{r}`" for r in roles)) + "\n"]
    if op.get("x-roles-note"):
        lines.append(f"*Also:* {op['x-roles-note']}.\n")
    params = op.get("parameters", [])
    if params:
        lines += ["| parameter | in | type | notes |", "|---|---|---|---|"]
        for p in params:
            schema = p.get("schema", {})
            notes = "; ".join(x for x in (p.get("description") or schema.get("description"),
                                          _limits(schema),
                                          "required" if p.get("required") else None,
                                          f"default `{schema['default']}`"
                                          if schema.get("default") is not None else None) if x)
            lines.append(f"| `{p['name']}` | {p['in']} | {_type(schema, spec)} | {notes} |")
        lines.append("")
    body_schema = _body(op, spec)
    if body_schema is not None:
        resolved = _ref(body_schema, spec)
        name = body_schema.get("$ref", "").rsplit("/", 1)[-1]
        lines.append(f"**Body** (JSON{', ' + name if name else ''}"
                     f"{'; ' + op['requestBody']['description'] if op.get('requestBody', {}).get('description') else ''}):"
                     " see the example below.\n")
        if resolved.get("properties") and name:
            lines += ["| field | type | notes |", "|---|---|---|"]
            required = set(resolved.get("required", []))
            for field, schema in resolved["properties"].items():
                notes = "; ".join(x for x in (schema.get("description"), _limits(schema),
                                              "required" if field in required else None) if x)
                lines.append(f"| `{field}` | {_type(schema, spec)} | {notes} |")
            lines.append("")
    answers = []
    for code, resp in op.get("responses", {}).items():
        if code.startswith("2"):
            content = resp.get("content", {})
            kind = next(iter(content), None)
            schema = content.get(kind, {}).get("schema", {}) if kind else {}
            what = _type(schema, spec) if kind == "application/json" else (kind or "no body")
            answers.append(f"`{code}` {what}")
    errors = [] if public else ["401 without a valid token", "403 for other roles"]
    if params or body_schema is not None:
        errors.append("422 for a malformed request")
    if path.endswith("/auth/login"):
        errors += ["401 for a wrong name or password", "429 with `Retry-After` when locked"]
    lines.append("**Answers:** " + ", ".join(answers) + "; errors as `{\"detail\": …}`"
                 + (f" ({', '.join(errors)})" if errors else "") + ".\n")
    example_path = path.format(**PATH_EXAMPLES)
    body = EXAMPLES.get((method, path))
    if body is None and body_schema is not None:
        body = _example_value(body_schema, spec)
    lines += ["```sh", _curl(method, example_path, body, public, stream), "```", "",
              "```python", _python(method, example_path, body, public, stream), "```", ""]
    return "\n".join(lines)


def _schemas(spec: dict[str, Any]) -> str:
    lines = ["## Shapes\n", "The JSON documents the operations above answer with.\n"]
    for name, schema in sorted(spec["components"]["schemas"].items()):
        if name.startswith(("HTTPValidationError", "ValidationError")):
            continue
        lines.append(f"### {name}\n")
        required = set(schema.get("required", []))
        props = schema.get("properties", {})
        if not props:
            lines.append(f"{_type(schema, spec)}\n")
            continue
        lines += ["| field | type | |", "|---|---|---|"]
        for field, sub in props.items():
            lines.append(f"| `{field}` | {_type(sub, spec)} | "
                         f"{'required' if field in required else ''} |")
        lines.append("")
    return "\n".join(lines)


def openapi_spec() -> dict[str, Any]:
    """The schema of a server on a throwaway SQLite store (the schema does not depend on it)."""
    from engine.server.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(f"sqlite:///{Path(tmp) / 'doc.db'}", worker=False)
        spec = app.openapi()
        app.state.flowdesk.engine.dispose()
    return spec


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default=str(OUT))
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if the file differs from what would be written")
    args = parser.parse_args(argv)
    text = render(openapi_spec())
    path = Path(args.out)
    if args.check:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != text:
            print(f"{path} is out of date: run python -m engine.server.apidoc",
                  file=sys.stderr)
            return 1
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
