"""The consent policy: the shipped file, a workspace's override, and errors that say where and
what to fix."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from aimsight.core import ConfigurationError, Workspace
from aimsight.privacy import (
    POLICY_PATH,
    ConsentPolicyError,
    load_policy,
    parse_policy,
    shipped_policy,
    shipped_policy_text,
)

ORIGIN = "ws/privacy/consent.yaml"

MINIMAL = """\
channels: [email, sms]
purposes:
  a: {legal_basis: consent, default: denied, scope: channel}
  b: {legal_basis: consent, default: denied, scope: purpose}
  c: {legal_basis: legitimate_interest, default: granted, scope: purpose}
"""


def test_the_shipped_policy_has_the_channels_and_purposes_users_expect() -> None:
    policy = shipped_policy()
    assert policy.channels == ("email", "sms", "push", "web", "phone", "post")
    assert list(policy.purposes) == [
        "marketing",
        "newsletter",
        "analytics",
        "personalisation",
        "profiling",
        "ai_decisioning",
    ]
    ai = policy.purposes["ai_decisioning"]
    assert (ai.legal_basis, ai.default, ai.scope) == ("legitimate_interest", "granted", "purpose")
    others = [spec for name, spec in policy.purposes.items() if name != "ai_decisioning"]
    assert {spec.default for spec in others} == {"denied"}
    assert policy.purposes["marketing"].scope == "channel"
    assert policy.purposes["profiling"].scope == "purpose"


def test_a_refused_profiling_blocks_personalisation_and_ai_decisioning() -> None:
    policy = shipped_policy()
    assert [when for when, _ in policy.blockers("personalisation")] == ["profiling"]
    assert [when for when, _ in policy.blockers("ai_decisioning")] == ["profiling"]
    assert policy.blockers("marketing") == ()


def test_propagation_applies_transitively() -> None:
    policy = parse_policy(
        MINIMAL
        + "propagation:\n"
        + "  - {when: a, blocks: [b], reason: b rests on a.}\n"
        + "  - {when: b, blocks: [c], reason: c rests on b.}\n",
        origin=ORIGIN,
    )
    assert dict(policy.blockers("c")) == {"b": "c rests on b.", "a": "b rests on a."}


def test_equal_policies_have_equal_digests() -> None:
    assert parse_policy(shipped_policy_text(), origin="x").digest == shipped_policy().digest
    assert parse_policy(MINIMAL, origin="x").digest != shipped_policy().digest


@pytest.mark.parametrize(
    ("text", "path", "words"),
    [
        (
            MINIMAL + "propagation: [{when: z, blocks: [a], reason: r}]",
            "propagation[0].when",
            "unknown purpose 'z'; use one of the purposes: a, b, c",
        ),
        (
            MINIMAL + "propagation: [{when: a, blocks: [a], reason: r}]",
            "propagation[0].blocks[0]",
            "cannot block itself",
        ),
        (
            MINIMAL + "propagation: [{when: a, blocks: [q], reason: r}]",
            "propagation[0].blocks[0]",
            "unknown purpose 'q'",
        ),
        (
            MINIMAL
            + "propagation:\n  - {when: a, blocks: [b], reason: r}\n"
            + "  - {when: b, blocks: [a], reason: r}\n",
            "propagation[0].when",
            "cycle",
        ),
        (
            MINIMAL.replace("default: denied, scope: channel", "default: maybe, scope: channel"),
            "purposes.a.default",
            "'granted' or 'denied'",
        ),
        (
            MINIMAL.replace("scope: channel}", "scope: channel, x: 1}"),
            "purposes.a.x",
            "unknown setting",
        ),
        (
            MINIMAL.replace("legal_basis: consent, default: denied, scope: purpose", "scope: x"),
            "purposes.b.legal_basis",
            "required",
        ),
        (MINIMAL.replace("[email, sms]", "[email, Email]"), "channels[1]", "not a channel"),
        (MINIMAL.replace("[email, sms]", "[email, email]"), "channels", "listed twice"),
        (MINIMAL.replace("  a: {", "  Bad-Name: {"), "purposes.Bad-Name", "not a purpose"),
        (MINIMAL + "colour: blue\n", "colour", "unknown setting"),
    ],
)
def test_a_bad_policy_names_the_file_the_setting_and_the_fix(
    text: str, path: str, words: str
) -> None:
    with pytest.raises(ConsentPolicyError) as caught:
        parse_policy(text, origin=ORIGIN)
    assert caught.value.path == path
    assert caught.value.message.startswith(f"{ORIGIN}: {path}: ")
    assert words in caught.value.message
    assert isinstance(caught.value, ConfigurationError)


def test_broken_yaml_names_the_line() -> None:
    with pytest.raises(ConsentPolicyError, match=r"consent.yaml: line 2: .*fix the YAML"):
        parse_policy("channels: [email]\npurposes: a: b\n", origin=ORIGIN)


def test_a_file_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(ConsentPolicyError, match="expected a mapping"):
        parse_policy("- email\n", origin=ORIGIN)


def test_a_workspace_copy_overrides_the_shipped_policy_and_is_reread_when_edited(
    tmp_path: Path,
) -> None:
    workspace = Workspace.create(tmp_path / "ws")
    assert load_policy(workspace) is shipped_policy()
    path = workspace.root / POLICY_PATH
    path.parent.mkdir()
    path.write_text(MINIMAL, "utf-8")
    assert list(load_policy(workspace).purposes) == ["a", "b", "c"]
    assert load_policy(workspace) is load_policy(workspace)  # parsed once while unchanged
    path.write_text(MINIMAL.replace("[email, sms]", "[email, sms, web]"), "utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert load_policy(workspace).channels == ("email", "sms", "web")


def test_a_broken_workspace_copy_is_an_error_naming_it(tmp_path: Path) -> None:
    workspace = Workspace.create(tmp_path / "ws")
    path = workspace.root / POLICY_PATH
    path.parent.mkdir()
    path.write_text(MINIMAL.replace("scope: channel", "scope: everywhere"), "utf-8")
    with pytest.raises(ConsentPolicyError) as caught:
        load_policy(workspace)
    assert caught.value.message.startswith(f"{path}: purposes.a.scope: ")
