"""Expressions and templates: native values, strict undefined names, a tight sandbox."""

from __future__ import annotations

from typing import Any

import pytest

from engine import expressions
from engine.expressions import (
    ExpressionError,
    check_expression,
    check_templates,
    evaluate,
    lone_expression,
    render,
)

SCOPE: dict[str, Any] = {
    "inputs": {"n": 3, "name": "Ada", "flag": True, "items": [1, 2, 3]},
    "vars": {"total": 10, "items": "a key called items"},
    "nodes": {"fetch": {"output": {"status": 200, "json": {"rows": [4, 5]}},
                        "status": "succeeded"}},
    "run": {"id": "run-1"},
}


@pytest.mark.parametrize("template,value", [
    ("{{ inputs.n }}", 3),
    ("{{ inputs.n * 1.5 }}", 4.5),
    ("{{ inputs.flag }}", True),
    ("{{ none }}", None),
    ("{{ inputs.items }}", [1, 2, 3]),
    ("{{ nodes.fetch.output.json }}", {"rows": [4, 5]}),
    ("{{ (1, 2) }}", [1, 2]),
    ("{{inputs.n}}", 3),
    ("{{ inputs.n\n + 1 }}", 4),
])
def test_a_lone_expression_yields_its_native_value(template: str, value: Any) -> None:
    result = render(template, SCOPE)
    assert result == value
    assert type(result) is type(value)


@pytest.mark.parametrize("template,text", [
    ("n={{ inputs.n }}", "n=3"),
    (" {{ inputs.n }}", " 3"),
    ("{{ inputs.n }} ", "3 "),
    ("{{ inputs.n }}\n", "3\n"),
    ("{{ inputs.n }}{{ inputs.n }}", "33"),
    ("{{ inputs.name }} has {{ len(inputs.items) }} items", "Ada has 3 items"),
    ("{% if inputs.flag %}yes{% else %}no{% endif %}", "yes"),
    ("no templates here", "no templates here"),
])
def test_anything_else_renders_to_text(template: str, text: str) -> None:
    assert render(template, SCOPE) == text


@pytest.mark.parametrize("text,expr", [
    ("{{ a }}", "a"), ("{{a.b + 1}}", "a.b + 1"), ("{{ a }} ", None), ("x{{ a }}", None),
    ("{{ a }}{{ b }}", None), ("{{ a }} and {{ b }}", None), ("{ a }", None), ("a", None),
])
def test_lone_expression_is_exactly_one(text: str, expr: str | None) -> None:
    assert lone_expression(text) == expr


def test_render_walks_json_values_and_leaves_keys_and_non_strings_alone() -> None:
    value = {"{{ inputs.n }}": ["{{ inputs.n }}", 5, None, {"deep": "x{{ run.id }}"}],
             "flag": False}
    assert render(value, SCOPE) == {"{{ inputs.n }}": [3, 5, None, {"deep": "xrun-1"}],
                                    "flag": False}


@pytest.mark.parametrize("source,name", [
    ("missing", "missing"),
    ("inputs.nope", "nope"),
    ("nodes.other.output", "other"),
    ("nodes.fetch.output.json.cols", "cols"),
    ("[missing, 1]", "missing"),
    ("{'a': missing}", "missing"),
    ("inputs.n + missing", "missing"),
])
def test_undefined_names_are_errors_naming_them(source: str, name: str) -> None:
    for attempt in (lambda: evaluate(source, SCOPE), lambda: render("{{ " + source + " }}", SCOPE),
                    lambda: render("x {{ " + source + " }}", SCOPE)):
        with pytest.raises(ExpressionError, match=f"undefined name '{name}'"):
            attempt()


@pytest.mark.parametrize("source", ["true", "True", "not false", "not False", "none is none",
                                    "None is none", "inputs.flag == true"])
def test_literals_in_both_spellings(source: str) -> None:
    assert evaluate(source, SCOPE) is True


@pytest.mark.parametrize("source,value", [
    ("len(inputs.items)", 3), ("min(inputs.items)", 1), ("max(4, inputs.n)", 4),
    ("abs(-2)", 2), ("round(2.567, 1)", 2.6), ("int('5') + 1", 6), ("float('1.5')", 1.5),
    ("str(inputs.n) ~ '!'", "3!"), ("2 in inputs.items", True),
    ("inputs.items[0] + inputs['n']", 4), ("nodes.fetch.output.status == 200", True),
    ("inputs.n > 2 and not inputs.flag", False), ("inputs.n if inputs.n > 2 else 0", 3),
    ("run.id", "run-1"), ("nodes.fetch.status", "succeeded"),
])
def test_the_allowed_functions_and_operators(source: str, value: Any) -> None:
    assert evaluate(source, SCOPE) == value


@pytest.mark.parametrize("source", ["range(3)", "dict(a=1)", "lipsum()", "namespace()",
                                    "cycler(1)", "__import__('os')", "open('/etc/passwd')"])
def test_nothing_else_is_in_scope(source: str) -> None:
    with pytest.raises(ExpressionError, match="undefined name"):
        evaluate(source, SCOPE)


@pytest.mark.parametrize("source", [
    "inputs.name.__class__", "''.__class__.__mro__", "inputs['__class__']",
    "inputs.name.__class__.__base__.__subclasses__()", "run.__init__",
    "inputs.items.append(4)", "self", "inputs.name.upper",
])
def test_the_sandbox_refuses_dunders_mutation_and_non_data(source: str) -> None:
    with pytest.raises(ExpressionError):
        evaluate(source, SCOPE)
    assert SCOPE["inputs"]["items"] == [1, 2, 3]


def test_dot_on_a_mapping_is_the_key_never_a_method() -> None:
    assert evaluate("vars.items", SCOPE) == "a key called items"
    with pytest.raises(ExpressionError, match="undefined name 'items'"):
        evaluate("nodes.items", {"nodes": {}})
    with pytest.raises(ExpressionError, match="undefined name 'keys'"):
        evaluate("vars.keys()", SCOPE)
    with pytest.raises(ExpressionError, match="undefined name 'get'"):
        render("{{ inputs.get('n') }}", SCOPE)
    assert evaluate("vars['items']", SCOPE) == "a key called items"
    for source in ("inputs['keys']()", "len(run['values']())", "inputs['items'].append"):
        with pytest.raises(ExpressionError, match="undefined name|not allowed"):
            evaluate(source, {**SCOPE, "inputs": {"items": []}})


def test_an_index_out_of_range_says_so() -> None:
    with pytest.raises(ExpressionError, match=r"no item \[5\]"):
        evaluate("inputs.items[5]", SCOPE)


@pytest.mark.parametrize("source,words", [
    ("1 / 0", "ZeroDivisionError"),
    ("inputs.name + 1", "TypeError"),
    ("inputs.n +", "invalid expression"),
])
def test_failures_are_one_sentence_naming_the_expression(source: str, words: str) -> None:
    with pytest.raises(ExpressionError) as info:
        evaluate(source, SCOPE)
    assert words in str(info.value) and repr(source) in str(info.value)
    assert "\n" not in str(info.value)


def test_syntax_checks_for_the_validator() -> None:
    assert check_expression("inputs.n > 1") is None
    assert check_expression("   ") == "empty expression"
    assert "invalid expression" in (check_expression("inputs.n >") or "")
    assert check_templates({"a": ["ok {{ inputs.n }}", 1], "b": "{{ inputs.n }}"}) is None
    assert "invalid expression" in (check_templates(["{{ 1 + }}"]) or "")
    assert "invalid template" in (check_templates({"x": "a {{ 1 + }} b"}) or "")
    assert "invalid template" in (check_templates("{% if %}") or "")
    assert "chunk after expression" in (check_expression("a }} {{ b") or "")
    assert "no filter named 'nope'" in (check_expression("inputs.n | nope") or "")
    assert "no test named 'odd_ish'" in (check_templates("{{ 1 if x is odd_ish }}") or "")
    assert "no filter named 'nope'" in (check_templates("a {{ x | nope }} b") or "")
    assert check_expression("inputs.items | length > 2") is None


def test_each_source_is_compiled_once() -> None:
    calls: list[str] = []
    env = expressions._env
    real_expr, real_tmpl = env.compile_expression, env.from_string

    def count_expr(source: str, *a: Any, **k: Any) -> Any:
        calls.append(source)
        return real_expr(source, *a, **k)

    def count_tmpl(source: Any, *a: Any, **k: Any) -> Any:
        if isinstance(source, str):  # compile_expression passes its own parsed tree here
            calls.append(source)
        return real_tmpl(source, *a, **k)

    env.compile_expression = count_expr  # type: ignore[method-assign]
    env.from_string = count_tmpl  # type: ignore[method-assign]
    try:
        expr, tmpl = "inputs.n * 7 + 12345", "value {{ inputs.n * 7 + 12345 }}"
        for _ in range(50):
            assert evaluate(expr, SCOPE) == 12366
            assert render(tmpl, SCOPE) == "value 12366"
            assert render("{{ " + expr + " }}", SCOPE) == 12366
    finally:
        del env.compile_expression, env.from_string
    assert calls == [expr, tmpl]
