"""The consent policy: purposes, channels, legal bases, defaults and propagation rules.

Declared in YAML (``privacy/consent.yaml`` ships with aimsight; a workspace's copy at
``<workspace>/privacy/consent.yaml`` overrides it), validated with pydantic, and compiled once
into the lookups :func:`~aimsight.privacy._consent.effective` needs on every check.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
)

from aimsight.core.errors import ConfigurationError
from aimsight.core.workspace import Workspace
from aimsight.core.yaml_paths import setting_path

__all__ = [
    "ANY",
    "LEGAL_BASES",
    "POLICY_PATH",
    "STATUSES",
    "ConsentPolicy",
    "ConsentPolicyError",
    "PropagationRule",
    "PurposeSpec",
    "load_policy",
    "parse_policy",
    "shipped_policy",
    "shipped_policy_text",
]

ANY = "*"
"""In a record: every channel (channel ``*``) or every purpose (purpose ``*``, an opt-out)."""

POLICY_PATH = "privacy/consent.yaml"
"""Where a workspace keeps its own policy, relative to the workspace folder."""

STATUSES = ("granted", "denied", "revoked")
"""What a record can say: asked and agreed, asked and refused, agreed and later withdrawn."""

LEGAL_BASES = (
    "consent",
    "contract",
    "legal_obligation",
    "vital_interests",
    "public_task",
    "legitimate_interest",
)
"""The lawful bases of processing (GDPR Art. 6(1) a-f)."""

_NAME = r"^[a-z][a-z0-9_]{0,63}$"
_MAX_BYTES = 1_000_000


class ConsentPolicyError(ConfigurationError):
    """Raised when a consent policy file is not valid; names the file, the setting and the fix.

    Attributes:
        origin: the file (or ``shipped consent.yaml``).
        path: the dotted path of the bad setting, e.g. ``purposes.profiling.default``.
    """

    code = "consent_policy_error"

    def __init__(self, message: str, *, origin: str, path: str | None = None) -> None:
        super().__init__(message)
        self.origin = origin
        self.path = path


class PurposeSpec(BaseModel):
    """One purpose of processing."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = Field(default="", max_length=1000)
    legal_basis: Literal[
        "consent",
        "contract",
        "legal_obligation",
        "vital_interests",
        "public_task",
        "legitimate_interest",
    ]
    default: Literal["granted", "denied"]
    scope: Literal["channel", "purpose"]


class PropagationRule(BaseModel):
    """A denied or revoked ``when`` purpose blocks every purpose in ``blocks``, everywhere."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    when: str = Field(pattern=_NAME)
    blocks: tuple[str, ...] = Field(min_length=1)
    reason: str = Field(min_length=1, max_length=1000)


class ConsentPolicy(BaseModel):
    """Purposes, channels and propagation rules, compiled for fast checks.

    Examples:
        >>> policy = shipped_policy()
        >>> policy.blockers("ai_decisioning")[0][0]
        'profiling'
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(default=1, ge=1)
    channels: tuple[str, ...] = Field(min_length=1)
    purposes: dict[str, PurposeSpec] = Field(min_length=1)
    propagation: tuple[PropagationRule, ...] = ()

    _blockers: dict[str, tuple[tuple[str, str], ...]] = PrivateAttr(default_factory=dict)
    _channel_set: frozenset[str] = PrivateAttr(default_factory=frozenset)

    @model_validator(mode="after")
    def _check(self) -> ConsentPolicy:
        for index, channel in enumerate(self.channels):
            if not re.match(_NAME, channel):
                raise _PolicyProblem(
                    ("channels", index),
                    f"{channel!r} is not a channel name; use lower-case letters, digits and _ "
                    "(e.g. email); `*` is reserved for 'every channel'",
                )
        if len(set(self.channels)) != len(self.channels):
            raise _PolicyProblem(("channels",), "a channel is listed twice; list each once")
        for name in self.purposes:
            if not re.match(_NAME, name):
                raise _PolicyProblem(
                    ("purposes", name),
                    f"{name!r} is not a purpose name; use lower-case letters, digits and _ "
                    "(e.g. profiling); `*` is reserved for 'every purpose'",
                )
        for index, rule in enumerate(self.propagation):
            self._check_rule(index, rule)
        self._check_cycles()
        return self

    def _check_rule(self, index: int, rule: PropagationRule) -> None:
        known = ", ".join(self.purposes)
        if rule.when not in self.purposes:
            raise _PolicyProblem(
                ("propagation", index, "when"),
                f"unknown purpose {rule.when!r}; use one of the purposes: {known}",
            )
        for position, blocked in enumerate(rule.blocks):
            if blocked not in self.purposes:
                raise _PolicyProblem(
                    ("propagation", index, "blocks", position),
                    f"unknown purpose {blocked!r}; use one of the purposes: {known}",
                )
            if blocked == rule.when:
                raise _PolicyProblem(
                    ("propagation", index, "blocks", position),
                    f"{blocked!r} cannot block itself; a refusal already blocks its own purpose",
                )

    def _check_cycles(self) -> None:
        edges: dict[str, set[str]] = {}
        for rule in self.propagation:
            edges.setdefault(rule.when, set()).update(rule.blocks)
        for start in edges:
            seen: set[str] = set()
            stack = list(edges[start])
            while stack:
                purpose = stack.pop()
                if purpose == start:
                    index = next(i for i, r in enumerate(self.propagation) if r.when == start)
                    raise _PolicyProblem(
                        ("propagation", index, "when"),
                        f"the rules form a cycle through {start!r} (it ends up blocking "
                        "itself); remove one of the rules in the cycle",
                    )
                if purpose not in seen:
                    seen.add(purpose)
                    stack.extend(edges.get(purpose, ()))

    # -- compiled lookups ---------------------------------------------------------------------

    def model_post_init(self, context: Any, /) -> None:
        """Compile the propagation closure once; checks then only look it up."""
        del context
        direct: dict[str, list[tuple[str, str]]] = {name: [] for name in self.purposes}
        for rule in self.propagation:
            for blocked in rule.blocks:
                if blocked in direct and rule.when in self.purposes:
                    direct[blocked].append((rule.when, rule.reason.strip()))
        for purpose in self.purposes:
            found: dict[str, str] = {}
            stack = list(direct[purpose])
            while stack:  # transitively: whatever blocks a blocker blocks this purpose too
                when, reason = stack.pop(0)
                if when in found or when == purpose:
                    continue
                found[when] = reason
                stack.extend(direct.get(when, ()))
            self._blockers[purpose] = tuple(found.items())
        self._channel_set = frozenset(self.channels)

    def blockers(self, purpose: str) -> tuple[tuple[str, str], ...]:
        """``(when purpose, reason)`` of every rule that blocks ``purpose``, transitively."""
        return self._blockers.get(purpose, ())

    def has_channel(self, channel: str) -> bool:
        """True when ``channel`` is one of the policy's channels (not ``*``)."""
        return channel in self._channel_set

    def key_channel(self, purpose: str, channel: str) -> str:
        """The channel a record is stored under: ``*`` for a purpose-scoped purpose."""
        spec = self.purposes.get(purpose)
        return ANY if spec is not None and spec.scope == "purpose" else channel

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form (what the API and ``--json`` show)."""
        return self.model_dump(mode="json")

    @property
    def digest(self) -> str:
        """SHA-256 of the canonical JSON form: equal policies have equal digests."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


class _PolicyProblem(ValueError):
    """A cross-field problem, raised inside validation with the setting's location."""

    def __init__(self, loc: tuple[int | str, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message


def parse_policy(text: str, *, origin: str) -> ConsentPolicy:
    """Parse and validate a policy's YAML.

    Raises:
        ConsentPolicyError: the YAML is broken or a setting is wrong; the message reads
            ``<origin>: <setting path>: <problem>; <fix>``.
    """
    if len(text.encode("utf-8")) > _MAX_BYTES:
        raise ConsentPolicyError(
            f"{origin}: the file is larger than 1 MB; a consent policy is a few dozen lines",
            origin=origin,
        )
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ConsentPolicyError(
            f"{origin}:{where}: {problem}; fix the YAML syntax", origin=origin
        ) from None
    if not isinstance(data, dict):
        raise ConsentPolicyError(
            f"{origin}: expected a mapping with channels, purposes and propagation at the top "
            "level (see the shipped privacy/consent.yaml)",
            origin=origin,
        )
    try:
        return ConsentPolicy.model_validate(data)
    except ValidationError as exc:
        raise _policy_error(exc, origin) from None


def _policy_error(exc: ValidationError, origin: str) -> ConsentPolicyError:
    error = exc.errors()[0]
    context = error.get("ctx") or {}
    cause = context.get("error")
    if isinstance(cause, _PolicyProblem):
        path = setting_path(cause.loc)
        return ConsentPolicyError(f"{origin}: {path}: {cause.message}", origin=origin, path=path)
    path = setting_path(error.get("loc", ())) or "(top level)"
    kind = error.get("type", "")
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        message = "unknown setting; check the spelling against docs/privacy.md"
    elif kind == "missing":
        message = "this setting is required; add it (see the shipped privacy/consent.yaml)"
    elif kind == "literal_error":
        message = f"{message.rstrip('.')}; use one of those values"
    return ConsentPolicyError(f"{origin}: {path}: {message}", origin=origin, path=path)


def shipped_policy_text() -> str:
    """The YAML of the policy that ships with aimsight."""
    return resources.files("aimsight.privacy").joinpath("consent.yaml").read_text("utf-8")


@dataclass(frozen=True)
class _Cached:
    stamp: tuple[int, int]
    policy: ConsentPolicy


_cache: dict[str, _Cached] = {}
_cache_lock = threading.Lock()
_shipped: list[ConsentPolicy] = []


def shipped_policy() -> ConsentPolicy:
    """The policy that ships with aimsight (parsed once per process)."""
    with _cache_lock:
        if not _shipped:
            _shipped.append(parse_policy(shipped_policy_text(), origin="shipped consent.yaml"))
        return _shipped[0]


def load_policy(workspace: Workspace | Path) -> ConsentPolicy:
    """The policy in force for a workspace: its own ``privacy/consent.yaml``, else the shipped
    one. A file is parsed again only when it changes (size or modification time).

    Raises:
        ConsentPolicyError: the workspace's file is not valid.
    """
    root = workspace.root if isinstance(workspace, Workspace) else workspace
    path = root / POLICY_PATH
    try:
        stat = path.stat()
    except FileNotFoundError:
        return shipped_policy()
    except OSError as exc:
        raise ConsentPolicyError(
            f"{path}: cannot be read ({exc.strerror}); check its permissions", origin=str(path)
        ) from None
    stamp = (stat.st_mtime_ns, stat.st_size)
    key = str(path)
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None and cached.stamp == stamp:
            return cached.policy
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConsentPolicyError(
            f"{path}: cannot be read ({exc}); save it as UTF-8 text", origin=str(path)
        ) from None
    policy = parse_policy(text, origin=str(path))
    with _cache_lock:
        _cache[key] = _Cached(stamp, policy)
    return policy
