"""Id rules (vllora/audit/id_rules.yaml): namespaces, prefixes, skip patterns, strictness."""

from __future__ import annotations

from pathlib import Path

import pytest

from vllora.audit.rules import IdRules
from vllora.errors import ReferenceInvalid


@pytest.fixture(scope="module")
def rules() -> IdRules:
    return IdRules.load()


def test_litellm_default_is_our_id_as_namespace_and_prefix(rules: IdRules) -> None:
    rule = rules.rule_for("groq", "litellm")
    assert rule is not None and rule.namespaces == ("groq",)
    assert rule.model_id("groq/meta-llama/llama-4-scout") == "meta-llama/llama-4-scout"
    assert rule.model_id("llama-bare") == "llama-bare"
    assert rule.model_id("ft:gpt-4o") is None  # the default skip list applies to every provider


def test_bedrock_variants_are_skipped(rules: IdRules) -> None:
    rule = rules.rule_for("bedrock", "litellm")
    assert rule is not None and set(rule.namespaces) == {"bedrock", "bedrock_converse"}
    assert rule.model_id("anthropic.claude-x-v1:0") == "anthropic.claude-x-v1:0"
    assert rule.model_id("bedrock/converse/anthropic.claude-x-v1:0") == "anthropic.claude-x-v1:0"
    for variant in ("bedrock/us-east-1/anthropic.claude-x-v1:0", "bedrock/*/1-month-commitment/cohere.command-text-v14",
                    "us.anthropic.claude-x-v1:0", "1024-x-1024/50-steps/stability.stable-diffusion-xl-v1"):
        assert rule.model_id(variant) is None, variant


def test_openrouter_is_compared_only_where_listed(rules: IdRules) -> None:
    assert rules.rule_for("groq", "openrouter") is None
    rule = rules.rule_for("openai", "openrouter")
    assert rule is not None and not rule.complete
    assert rule.model_id("openai/gpt-4o") == "gpt-4o"
    assert rule.model_id("meta-llama/llama-3") is None  # require_prefix
    own = rules.rule_for("openrouter", "openrouter")
    assert own is not None and own.complete and own.model_id("meta-llama/llama-3") == "meta-llama/llama-3"


def test_models_dev_namespaces(rules: IdRules) -> None:
    assert rules.rule_for("gemini", "models_dev").namespaces == ("google",)  # type: ignore[union-attr]
    assert rules.rule_for("anthropic", "models_dev").namespaces == ("anthropic",)  # type: ignore[union-attr]


@pytest.mark.parametrize(("text", "says"), [
    ("providers: {openai: {litellm: {namespace: [x]}}}\n", "unknown key(s) namespace; valid: complete"),
    ("defaults: {litellm: {skip: ['(']}}\nproviders: {}\n", "is not a regular expression"),
    ("provider: {}\n", "expected the keys defaults and providers"),
])
def test_a_bad_rules_file_is_a_clear_error(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    with pytest.raises(ReferenceInvalid) as info:
        IdRules.load(path).rule_for("openai", "litellm")
    assert says in info.value.message
