"""Reading a flow file's YAML so that every later error can name the line of a setting,
and saying what a validation error means and how to fix it.

The text is composed into YAML nodes (which keep their line) and constructed into plain
Python data in one pass. Before any validation the file is refused when it is too big, is not
valid YAML, is nested more than 50 levels deep (PyYAML would overflow the stack), holds more
than one document, uses anchors and aliases (``&a`` / ``*a``: a few lines could otherwise
expand into millions of settings) or repeats a key in one mapping (YAML would silently keep
the last one).
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import yaml
from pydantic import BaseModel
from pydantic_core import ErrorDetails

__all__ = [
    "MAX_FLOW_BYTES",
    "MAX_NESTING",
    "YamlDocument",
    "YamlProblem",
    "clean_loc",
    "describe_error",
    "line_of",
    "read_yaml",
    "suggest",
]

MAX_FLOW_BYTES = 1_000_000
"""Largest flow file accepted (1 MB); real flows are a few kilobytes."""

MAX_NESTING = 50
"""Deepest nesting of mappings and lists accepted; real flows use about six levels."""

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser where libyaml is present


class YamlProblem(Exception):
    """The YAML cannot be read; ``line`` is 1-based or ``None`` when it is the whole file."""

    def __init__(self, problem: str, line: int | None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.line = line


@dataclass(frozen=True)
class YamlDocument:
    """The constructed data and the node tree it came from (for line numbers)."""

    data: Any
    root: yaml.Node | None


def read_yaml(text: str) -> YamlDocument:
    """Parse one YAML document, refusing what a flow file may not contain (see module doc).

    Raises:
        YamlProblem: the text is too big, is not YAML, holds several documents, uses
            aliases or repeats a key; the message says how to fix it.
    """
    size = len(text.encode("utf-8", errors="replace"))
    if size > MAX_FLOW_BYTES:
        raise YamlProblem(
            f"the file is {size:,} bytes, more than the {MAX_FLOW_BYTES:,} a flow may have; "
            "split it into several flows or remove unused actions",
            None,
        )
    loader = _LOADER(text)
    try:
        _scan_events(text)
        root = loader.get_single_node()
        if root is not None:
            _check_nodes(root)
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "not valid YAML"
        raise YamlProblem(
            f"not valid YAML ({problem}); fix the syntax there (indentation, a missing ':' "
            "or an unclosed quote or bracket are the usual causes)",
            line,
        ) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(f"not valid YAML ({exc}); fix the syntax", None) from None
    finally:
        loader.dispose()
    return YamlDocument(data, root)


def _scan_events(text: str) -> None:
    """Refuse the first alias (``*name``) and nesting deeper than :data:`MAX_NESTING`, at
    their own line, before any node is built (PyYAML builds nodes recursively: a deep enough
    file would overflow the C stack)."""
    depth = 0
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, yaml.AliasEvent):
            raise YamlProblem(_ALIASES, _line(event))
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_NESTING:
                raise YamlProblem(
                    f"settings are nested more than {MAX_NESTING} levels deep; a flow needs "
                    "far fewer: close the brackets or fix the indentation",
                    _line(event),
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _line(event: yaml.Event) -> int | None:
    mark = event.start_mark
    return mark.line + 1 if mark is not None else None


_ALIASES = (
    "anchors and aliases (&name / *name, or << merges) are not supported in flow files; "
    "write the setting out in full"
)


def _check_nodes(root: yaml.Node) -> None:
    """Refuse aliases (a node met twice) and repeated keys, iteratively (no recursion limit)."""
    seen: set[int] = set()
    stack: list[yaml.Node] = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            raise YamlProblem(_ALIASES, node.start_mark.line + 1)
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys: dict[str, int] = {}
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    line = key.start_mark.line + 1
                    if key.value in keys:
                        raise YamlProblem(
                            f"setting {key.value!r} appears twice in one mapping (lines "
                            f"{keys[key.value]} and {line}); keep one",
                            line,
                        )
                    keys[key.value] = line
                stack.extend((key, value))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)


def line_of(root: yaml.Node | None, loc: Sequence[int | str]) -> int | None:
    """The 1-based line of the setting at ``loc`` (a pydantic error location).

    Walks the node tree along ``loc`` as far as it exists: a missing setting is reported at
    the line of the mapping that lacks it, an unknown one at its own key. Parts that are not
    in the tree (pydantic's ``[key]`` tags) are skipped.
    """
    if root is None:
        return None
    node = root
    line = node.start_mark.line + 1
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    child = value
                    line = key.start_mark.line + 1
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if 0 <= part < len(node.value):
                child = node.value[part]
        if child is None:
            continue
        node = child
        if not isinstance(node, yaml.MappingNode):
            line = node.start_mark.line + 1
        elif isinstance(part, int):
            line = node.start_mark.line + 1
    return line


def suggest(value: object, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` when something close exists, else ``""``."""
    close = difflib.get_close_matches(str(value), list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def clean_loc(loc: Sequence[int | str]) -> tuple[int | str, ...]:
    """The location without pydantic's internal tags (``[key]``, function names)."""
    return tuple(
        part
        for part in loc
        if isinstance(part, int)
        or not (part.startswith("[") or part.startswith("function-") or "[" in part)
    )


def _model_at(root: type[BaseModel], loc: Sequence[int | str]) -> type[BaseModel] | None:
    """The settings model that the mapping at ``loc`` is validated as (for "did you mean")."""
    current: Any = root
    for part in loc:
        current = _unwrap(current, part)
        if current is None:
            return None
    current = _strip(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(annotation: Any, part: int | str) -> Any:
    """The annotation one step down ``part`` from ``annotation`` (a model, tuple or dict)."""
    annotation = _strip(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, field in annotation.model_fields.items():
            if (field.alias or name) == part:
                return field.annotation
        return None
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is tuple and isinstance(part, int) and args:
        return args[0]
    if origin is dict and isinstance(part, str) and len(args) == 2:
        return args[1]
    return None


def _strip(annotation: Any) -> Any:
    """``X`` from ``Annotated[X, ...]`` and ``X | None``."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def _settings_of(model: type[BaseModel]) -> list[str]:
    return [field.alias or name for name, field in model.model_fields.items()]


def describe_error(
    error: ErrorDetails,
    loc: tuple[int | str, ...],
    *,
    root: type[BaseModel],
    pattern_help: Mapping[str, str],
    docs: str,
) -> str:
    """What is wrong and the fix, for one pydantic error of a ``root`` model at ``loc``
    (a location from :func:`clean_loc`)."""
    kind = error["type"]
    value = error.get("input")
    ctx = error.get("ctx") or {}
    shown = repr(value) if isinstance(value, str | int | float | bool) or value is None else ""
    got = f", got {shown}" if shown else ""
    if kind == "extra_forbidden":
        name = str(loc[-1]) if loc else "?"
        model = _model_at(root, loc[:-1])
        allowed = _settings_of(model) if model is not None else []
        hint = suggest(name, allowed)
        listing = f" (settings here: {', '.join(allowed)})" if allowed else ""
        if hint:
            return f"unknown setting {name!r}{hint}{listing}"
        return f"unknown setting {name!r}; remove it or check the spelling{listing}"
    if kind == "missing":
        name = str(loc[-1]) if loc else "?"
        return f"required setting {name!r} is missing; add it (see {docs})"
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"expected a whole number{got}; write e.g. 1 (no quotes)"
    if kind in ("float_type", "float_parsing"):
        return f"expected a number{got}; write e.g. 1.5 (no quotes)"
    if kind == "finite_number":
        return f"expected a finite number{got}; write e.g. 1.5"
    if kind in ("bool_type", "bool_parsing"):
        return f"expected true or false{got}"
    if kind == "string_type":
        return f"expected text{got}; write it as a string, in quotes if in doubt"
    if kind in ("tuple_type", "list_type"):
        return f"expected a list{got}; write [a, b] or one '- item' per line"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"expected a mapping of settings{got}; write 'name: value' pairs (see {docs})"
    if kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace("'", "")
        hint = suggest(value, re.findall(r"[a-z_]+", expected))
        return f"{shown or 'this value'} is not allowed{hint}; use {expected}"
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        help_text = pattern_help.get(pattern, f"it must match {pattern}")
        return f"{shown or 'this value'} is not a valid name here; {help_text}"
    if kind in ("greater_than_equal", "greater_than"):
        limit = ctx.get("ge", ctx.get("gt"))
        word = "at least" if kind == "greater_than_equal" else "more than"
        return f"must be {word} {limit}{got}; use a larger value"
    if kind in ("less_than_equal", "less_than"):
        limit = ctx.get("le", ctx.get("lt"))
        word = "at most" if kind == "less_than_equal" else "less than"
        return f"must be {word} {limit}{got}; use a smaller value"
    if kind in ("too_short", "string_too_short"):
        return f"must not be empty; give at least {ctx.get('min_length', 1)} (see {docs})"
    if kind in ("too_long", "string_too_long"):
        return f"is too long; at most {ctx.get('max_length')} allowed"
    return f"{error['msg']}{got}; see {docs}"
