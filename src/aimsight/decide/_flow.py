"""Decision flows: declared in YAML, validated with file-and-line errors, compiled once.

A flow says which customers get which actions on which channels, and why: the models it
scores (``scores.<alias>``), the rules each action must pass (eligibility, applicability,
suitability), how actions are valued and ranked, which decisions go to human review, the
non-personalised fallback, and the contact policy. Rules are expressions in the safe
language of :mod:`aimsight.decide._expr`; they are compiled when the flow is loaded, so a rule
naming a feature that does not exist fails at load time with the file, the line, the setting
path and the fix, never at request time.

The flow is a plain spec (pydantic, ``extra="forbid"``, in :mod:`aimsight.decide._flow_spec`)
that round-trips through JSON; its :attr:`Flow.digest` pins exactly what ran to every decision.
docs/decisions.md documents every setting with an example.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from pathlib import Path

from pydantic import ValidationError

from aimsight.core.errors import InvalidInput
from aimsight.core.yaml_paths import setting_path
from aimsight.decide._expr import Expression, ExpressionError, Namespaces, compile_expression
from aimsight.decide._flow_spec import (
    ACTION_FIELDS,
    ANY_CHANNEL,
    CHANNELS,
    CUSTOMER_FIELDS,
    DOCS,
    HISTORY_FIELDS,
    PATTERN_HELP,
    RULE_KINDS,
    Action,
    Cap,
    ConfidenceSpec,
    ConflictRule,
    ConsentSpec,
    ContactPolicy,
    ContextWeight,
    FallbackSpec,
    Flow,
    ModelRef,
    QuietHours,
    ReviewSpec,
    Suppression,
)
from aimsight.decide._flow_yaml import (
    MAX_FLOW_BYTES,
    YamlProblem,
    clean_loc,
    describe_error,
    line_of,
    read_yaml,
)

__all__ = [
    "ACTION_FIELDS",
    "ANY_CHANNEL",
    "CHANNELS",
    "CUSTOMER_FIELDS",
    "HISTORY_FIELDS",
    "MAX_FLOW_BYTES",
    "RULE_KINDS",
    "Action",
    "Cap",
    "ConfidenceSpec",
    "ConflictRule",
    "ConsentSpec",
    "ContactPolicy",
    "ContextWeight",
    "FallbackSpec",
    "Flow",
    "FlowError",
    "ModelRef",
    "QuietHours",
    "ReviewSpec",
    "Suppression",
    "load_flow",
    "load_flows",
    "parse_flow",
    "shipped_flows_folder",
]


# --- errors ---------------------------------------------------------------------------------


class FlowError(InvalidInput):
    """A flow file is not valid; the message names the file, the line, the setting and the fix.

    Attributes:
        origin: the file (or other source) the flow came from.
        line: the 1-based line of the bad setting, ``None`` when it is the whole file.
        path: the dotted setting path, e.g. ``actions[2].eligibility`` (``""``: the file).
        problem: what is wrong and how to fix it.
    """

    code = "invalid_flow"

    def __init__(self, origin: str, path: str, problem: str, *, line: int | None) -> None:
        where = f"{origin} line {line}" if line is not None else origin
        super().__init__(f"{where}: {path}: {problem}" if path else f"{where}: {problem}")
        self.field = path or None
        self.origin = origin
        self.line = line
        self.path = path
        self.problem = problem


class _Problem(Exception):
    """A cross-setting problem found after validation, at ``loc`` in the file."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message


# --- compiling ------------------------------------------------------------------------------


def _compile(flow: Flow, features: frozenset[str]) -> None:
    """Check what pydantic cannot (references between settings) and compile every expression.

    Raises:
        _Problem: the first problem, at its location in the file.
    """
    closed = {
        "features": features,
        "scores": frozenset(flow.models),
        "history": HISTORY_FIELDS,
        "customer": CUSTOMER_FIELDS,
    }
    base = Namespaces(closed=closed, open=frozenset({"context"}))
    with_action = Namespaces(closed={**closed, "action": ACTION_FIELDS}, open=base.open)

    def compile_at(loc: tuple[str | int, ...], source: str, namespaces: Namespaces) -> Expression:
        path = setting_path(loc)
        try:
            return compile_expression(source, namespaces, field=path)
        except ExpressionError as exc:
            raise _Problem(loc, _expression_problem(exc, flow)) from None

    ids: dict[str, int] = {}
    for i, action in enumerate(flow.actions):
        at: tuple[str | int, ...] = ("actions", i)
        if action.id in ids:
            raise _Problem(
                (*at, "id"),
                f"action id {action.id!r} is already used by actions[{ids[action.id]}]; give "
                "each action its own id",
            )
        ids[action.id] = i
        _check_action(flow, action, at)
        action._rules = tuple(
            (kind, compile_at((*at, kind), source, base))
            for kind in RULE_KINDS
            if (source := getattr(action, kind)) is not None
        )
        if isinstance(action.value, str):
            action._value = compile_at((*at, "value"), action.value, base)
        if isinstance(action.propensity, str):
            action._propensity = compile_at((*at, "propensity"), action.propensity, base)
        for k, weight in enumerate(action.context_weights):
            weight._when = compile_at((*at, "context_weights", k, "when"), weight.when, base)

    _check_fallback(flow, ids)
    if flow.review is not None and flow.review.when is not None:
        flow.review._when = compile_at(("review", "when"), flow.review.when, with_action)
    if flow.confidence is not None:
        flow.confidence._score = compile_at(("confidence", "score"), flow.confidence.score, base)
        if flow.confidence.below == "review" and flow.review is None:
            raise _Problem(
                ("confidence", "below"),
                "below: review needs a review: section (e.g. review: {deadline_hours: 24}); "
                "add one or use below: fallback",
            )
    policy = flow.contact_policy
    for i, cap in enumerate(policy.caps):
        if cap.action is not None and cap.action not in ids:
            raise _Problem(
                ("contact_policy", "caps", i, "action"),
                f"unknown action {cap.action!r}; "
                + _fix(
                    cap.action,
                    ids,
                    f"name one of {', '.join(ids)} or leave action out to cap every action",
                ),
            )
    tags = {tag for action in flow.actions for tag in action.tags}
    for i, conflict in enumerate(policy.conflicts):
        at = ("contact_policy", "conflicts", i)
        for j, tag in enumerate(conflict.tags):
            if tag not in tags:
                raise _Problem(
                    (*at, "tags", j),
                    f"no action has the tag {tag!r}, so this conflict would never block "
                    "anything; "
                    + _fix(
                        tag,
                        tags,
                        f"fix the tag (tags in use: {', '.join(sorted(tags)) or 'none'}) or "
                        "tag the actions",
                    ),
                )
        conflict._while = compile_at((*at, "while"), conflict.while_, base)
    flow._features = features


def _fix(value: str, choices: Iterable[str], otherwise: str) -> str:
    """``did you mean 'x'?`` when a choice is close to ``value``, else ``otherwise``."""
    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else otherwise


def _check_action(flow: Flow, action: Action, at: tuple[str | int, ...]) -> None:
    if action.channel != ANY_CHANNEL and action.channel not in flow.channels:
        raise _Problem(
            (*at, "channel"),
            f"channel {action.channel!r} is not one this flow serves "
            f"({', '.join(flow.channels)}); add it to channels: or pick one of those",
        )
    for j, lever in enumerate(action.levers):
        if lever not in flow.levers:
            raise _Problem(
                (*at, "levers", j),
                f"unknown lever {lever!r}; "
                + _fix(
                    lever,
                    flow.levers,
                    f"declare it under levers: (e.g. levers: {{{lever}: 1.0}}) or remove it "
                    "from the action",
                ),
            )
    limit = flow.contact_policy.channel_limits.get(action.channel)
    if limit is not None and len(action.message) > limit:
        raise _Problem(
            (*at, "message"),
            f"the message has {len(action.message)} characters, more than the {limit} "
            f"contact_policy.channel_limits allows on {action.channel}; shorten it",
        )
    if action.high_stakes and flow.review is None:
        raise _Problem(
            (*at, "high_stakes"),
            "high-stakes actions go to human review, but the flow has no review: section; "
            "add one (e.g. review: {deadline_hours: 24})",
        )


def _check_fallback(flow: Flow, ids: Mapping[str, int]) -> None:
    name = flow.fallback.action
    if name not in ids:
        raise _Problem(
            ("fallback", "action"),
            f"unknown action {name!r}; "
            + _fix(name, ids, f"name one of this flow's actions ({', '.join(ids)})"),
        )
    index = ids[name]
    action = flow.actions[index]
    for loc, expression in action.expressions():
        personal = sorted(
            r for r in expression.references if r.split(".", 1)[0] in ("features", "scores")
        )
        if personal:
            raise _Problem(
                ("actions", index, *loc),
                f"{name} is the fallback (fallback.action) but this reads "
                f"{', '.join(personal)}; a fallback answers when consent is missing, so it "
                "must use no features or scores: remove them or name another fallback",
            )
    if action.channel != ANY_CHANNEL and flow.channels != (action.channel,):
        raise _Problem(
            ("actions", index, "channel"),
            f"{name} is the fallback, which must answer on every channel the flow serves "
            f"({', '.join(flow.channels)}); give it channel: any",
        )


def _expression_problem(exc: ExpressionError, flow: Flow) -> str:
    """The expression error's message, with where scores come from when that is the issue."""
    message = exc.message
    if message.startswith("unknown score "):
        aliases = ", ".join(flow.models) or "none"
        message += (
            f" (scores.<alias> names a model declared under models:; this flow declares: {aliases})"
        )
    return message


# --- loading --------------------------------------------------------------------------------


def parse_flow(text: str, *, origin: str, features: Iterable[str]) -> Flow:
    """Parse, validate and compile a flow from YAML (or JSON) text.

    Args:
        text: the file's content.
        origin: where it came from, named in every error (usually the file path).
        features: the feature names rules may read as ``features.<name>``.

    Returns:
        The compiled flow.

    Raises:
        FlowError: the message is ``<origin> line <n>: <setting path>: <problem>; <fix>``.
    """
    try:
        document = read_yaml(text)
    except YamlProblem as exc:
        raise FlowError(origin, "", exc.problem, line=exc.line) from None
    data = document.data
    if not isinstance(data, dict):
        raise FlowError(
            origin,
            "",
            "expected a mapping of settings (flow:, version:, actions:, ...) at the top "
            f"level; see {DOCS}",
            line=1 if document.root is not None else None,
        )
    try:
        flow = Flow.model_validate(data)
    except ValidationError as exc:
        # An unknown setting first: a misspelt required one is also reported missing, and
        # the unknown one's "did you mean" is what the author needs.
        errors = sorted(exc.errors(include_url=False), key=lambda e: e["type"] != "extra_forbidden")
        error = errors[0]
        loc = clean_loc(error["loc"])
        problem = describe_error(error, loc, root=Flow, pattern_help=PATTERN_HELP, docs=DOCS)
        if len(errors) > 1:
            more = len(errors) - 1
            problem += f" (and {more} more problem{'s' if more > 1 else ''})"
        line = line_of(document.root, error["loc"])
        raise FlowError(origin, setting_path(loc), problem, line=line) from None
    try:
        _compile(flow, frozenset(features))
    except _Problem as exc:
        line = line_of(document.root, exc.loc)
        raise FlowError(origin, setting_path(exc.loc), exc.message, line=line) from None
    return flow


def load_flow(path: Path, *, features: Iterable[str]) -> Flow:
    """Read, validate and compile the flow in ``path``; see :func:`parse_flow`.

    Raises:
        FlowError: the file is missing, too big, not UTF-8 or not a valid flow.
    """
    origin = str(path)
    if not path.is_file():
        raise FlowError(origin, "", f"no such flow file; write one (see {DOCS})", line=None)
    size = path.stat().st_size
    if size > MAX_FLOW_BYTES:
        raise FlowError(
            origin,
            "",
            f"the file is {size:,} bytes, more than the {MAX_FLOW_BYTES:,} a flow may have; "
            "split it into several flows or remove unused actions",
            line=None,
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise FlowError(
            origin, "", f"not UTF-8 text ({exc.reason}); save the file as UTF-8", line=None
        ) from None
    return parse_flow(text, origin=origin, features=features)


def load_flows(folder: Path, *, features: Iterable[str]) -> dict[str, Flow]:
    """Every flow in ``folder`` (its ``*.yaml`` files), by flow id.

    A missing folder holds no flows.

    Raises:
        FlowError: a file is not a valid flow, or two files declare the same flow id.
    """
    names = frozenset(features)
    flows: dict[str, Flow] = {}
    origins: dict[str, Path] = {}
    if not folder.is_dir():
        return flows
    for path in sorted(folder.glob("*.yaml")):
        flow = load_flow(path, features=names)
        if flow.flow in flows:
            line = line_of(read_yaml(path.read_text(encoding="utf-8")).root, ("flow",))
            raise FlowError(
                str(path),
                "flow",
                f"flow id {flow.flow!r} is already used by {origins[flow.flow]}; give each "
                "flow its own id",
                line=line,
            )
        flows[flow.flow] = flow
        origins[flow.flow] = path
    return flows


def shipped_flows_folder() -> Path:
    """The folder of the flows shipped with aimsight (retention, next best offer)."""
    return Path(__file__).parent / "flows"
