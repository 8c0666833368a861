"""docs/api-reference.md is generated from the OpenAPI schema and must match the code."""

from __future__ import annotations

from engine.server.apidoc import OUT, openapi_spec, render


def test_api_reference_is_up_to_date() -> None:
    spec = openapi_spec()
    expected = render(spec)
    assert OUT.read_text(encoding="utf-8") == expected, \
        "docs/api-reference.md is out of date: run python -m engine.server.apidoc"
    for path, ops in spec["paths"].items():
        for method in ops:
            assert f"### `{method.upper()} {path}`" in expected
    assert "curl -N -X GET \"$BASE/api/v1/runs/" in expected  # the SSE example streams
