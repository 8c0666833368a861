"""Expressions and templates: Jinja2's sandbox, strict about undefined names.

* ``evaluate("nodes.a.output > 3", scope)`` evaluates a bare expression (``when``).
* ``render(value, scope)`` renders every string inside a JSON value; a string that
  is exactly one ``{{ expr }}`` yields the expression's native value.

Compiled expressions and templates are cached by their source text, so a run
(and every later run) compiles each one once. An undefined name is an
:class:`ExpressionError` naming it — also for a lone ``{{ expr }}``, where Jinja
itself would hand back an Undefined object without raising.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined, nodes
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.parser import Parser
from jinja2.sandbox import ImmutableSandboxedEnvironment

__all__ = ["ExpressionError", "check_expression", "check_templates", "evaluate",
           "lone_expression", "render"]

# Exactly one {{ expr }} and nothing around it (not even spaces: " {{ n }}" is text).
_LONE = re.compile(r"^\{\{(?P<expr>.*?)\}\}\Z", re.DOTALL)


def lone_expression(text: str) -> str | None:
    """The expression of a string that is exactly one ``{{ expr }}``, else ``None``.

    Such a string yields the expression's native value (a number stays a number);
    ``"{{ a }} {{ b }}"`` and ``" {{ a }}"`` are text templates.
    """
    lone = _LONE.match(text)
    if lone and "{{" not in lone.group("expr") and "}}" not in lone.group("expr"):
        return lone.group("expr").strip()
    return None


class ExpressionError(ValueError):
    """An expression that does not parse, names something undefined, or fails."""


class _Undefined(StrictUndefined):
    """Undefined whose message is one short sentence naming the missing name."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        if not isinstance(self._undefined_name, str):  # a list index out of range
            return f"no item [{self._undefined_name!r}]"
        return f"undefined name '{self._undefined_name}'"


class _Environment(ImmutableSandboxedEnvironment):
    """The sandbox, where ``.name`` on a mapping is always the key, never a method."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, Mapping):
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        # Jinja falls back to attributes for a missing key: vars['items'] would be a method.
        if isinstance(obj, Mapping):
            try:
                return obj[argument]
            except (KeyError, TypeError):
                return self.undefined(obj=obj, name=argument)
        return super().getitem(obj, argument)


def _finalize(value: Any) -> Any:
    """Check each ``{{ }}`` of a text template: an Undefined inside a list is still an error."""
    if isinstance(value, (list, tuple, dict)):
        _check_defined(value)
    return value


_env = _Environment(undefined=_Undefined, autoescape=False, keep_trailing_newline=True,
                    finalize=_finalize)
_env.globals.clear()
_env.globals.update(len=len, min=min, max=max, abs=abs, round=round, int=int, float=float,
                    str=str)


@lru_cache(maxsize=4096)
def _compiled_expression(source: str) -> Any:
    try:
        return _env.compile_expression(source, undefined_to_none=False)
    except TemplateSyntaxError as exc:
        raise ExpressionError(f"invalid expression {source!r}: {exc.message}") from None


@lru_cache(maxsize=4096)
def _compiled_template(source: str) -> Any:
    try:
        return _env.from_string(source)
    except TemplateSyntaxError as exc:
        raise ExpressionError(f"invalid template {source!r}: {exc.message}") from None


def _check_defined(value: Any) -> Any:
    """The value as JSON data; an Undefined anywhere inside it is the error it stands for.

    Jinja lets an Undefined sit inside a list or dict literal without raising, and an
    expression may name a method or other object that is not data.
    """
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        return [_check_defined(v) for v in value]
    if isinstance(value, dict):
        return {k: _check_defined(v) for k, v in value.items()}
    raise _NotData(f"the value is not data but {type(value).__name__!r}")


class _NotData(Exception):
    pass


def evaluate(source: str, scope: Mapping[str, Any]) -> Any:
    """Evaluate a bare expression; raise :class:`ExpressionError` on any failure."""
    compiled = _compiled_expression(source)
    try:
        return _check_defined(compiled(**scope))
    except UndefinedError as exc:
        raise ExpressionError(f"{exc.message} in {source!r}") from None
    except SecurityError as exc:
        raise ExpressionError(f"not allowed in {source!r}: {exc}") from None
    except _NotData as exc:
        raise ExpressionError(f"{exc} in {source!r}") from None
    except Exception as exc:  # arithmetic, type errors … of the user's expression
        raise ExpressionError(f"{type(exc).__name__}: {exc} in {source!r}") from None


def render_string(text: str, scope: Mapping[str, Any]) -> Any:
    """Render one string; exactly one ``{{ expr }}`` yields its native value."""
    if "{" not in text:
        return text
    if (expr := lone_expression(text)) is not None:
        return evaluate(expr, scope)
    template = _compiled_template(text)
    try:
        return template.render(**scope)
    except UndefinedError as exc:
        raise ExpressionError(f"{exc.message} in {text!r}") from None
    except SecurityError as exc:
        raise ExpressionError(f"not allowed in {text!r}: {exc}") from None
    except _NotData as exc:
        raise ExpressionError(f"{exc} in {text!r}") from None
    except Exception as exc:
        raise ExpressionError(f"{type(exc).__name__}: {exc} in {text!r}") from None


def render(value: Any, scope: Mapping[str, Any]) -> Any:
    """Render every string inside a JSON value (keys are left as they are)."""
    if isinstance(value, str):
        return render_string(value, scope)
    if isinstance(value, list):
        return [render(v, scope) for v in value]
    if isinstance(value, dict):
        return {k: render(v, scope) for k, v in value.items()}
    return value


def _unknown_filters(tree: nodes.Node) -> str | None:
    """What Jinja would refuse when compiling a parsed tree: a filter or test it lacks."""
    for node in [tree, *tree.find_all((nodes.Filter, nodes.Test))]:
        if not isinstance(node, (nodes.Filter, nodes.Test)):
            continue
        known = _env.filters if isinstance(node, nodes.Filter) else _env.tests
        if node.name not in known:
            return f"no {'filter' if isinstance(node, nodes.Filter) else 'test'} named " \
                   f"'{node.name}'"
    return None


@lru_cache(maxsize=4096)
def _syntax_error(source: str, template: bool) -> str | None:
    """Parse only (compiling to Python costs ~1 ms a template, parsing a tenth of that):
    the validator checks every template of a flow after each edit in the designer."""
    what = "template" if template else "expression"
    try:
        if template:
            tree: nodes.Node = _env.parse(source)
        else:
            parser = Parser(_env, source, state="variable")
            tree = parser.parse_expression()
            if not parser.stream.eos:
                raise TemplateSyntaxError("chunk after expression", parser.stream.current.lineno)
    except TemplateSyntaxError as exc:
        return f"invalid {what} {source!r}: {exc.message}"
    if unknown := _unknown_filters(tree):
        return f"invalid {what} {source!r}: {unknown}"
    return None


def check_expression(source: str) -> str | None:
    """The syntax error of a bare expression, or ``None`` when it parses."""
    if not source.strip():
        return "empty expression"
    return _syntax_error(source, False)


def check_templates(value: Any) -> str | None:
    """The first syntax error among the templates inside a JSON value, or ``None``."""
    if isinstance(value, str):
        if "{" not in value:
            return None
        if (expr := lone_expression(value)) is not None:
            return check_expression(expr)
        return _syntax_error(value, True)
    if isinstance(value, list):
        for v in value:
            if err := check_templates(v):
                return err
    if isinstance(value, dict):
        for v in value.values():
            if err := check_templates(v):
                return err
    return None
