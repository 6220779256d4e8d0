"""`vllora sync --models` against fake list endpoints on 127.0.0.1: pagination, errors, credentials,
curated files untouched byte for byte, idempotence, dry run."""

from __future__ import annotations

import hashlib
import io
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.sync.fake_lists import fake_server
from vllora.settings import AwsCredentials, ProviderSettings, Settings
from vllora.sync.run import sync_models
from vllora.sync.writer import file_name, scalar

TODAY = "2026-11-25"

OPENAI_LIST = {"object": "list", "data": [
    {"id": "gpt-4o", "object": "model", "created": 1715367049, "owned_by": "system"},
    {"id": "gpt-9", "object": "model", "created": 1767225600, "owned_by": "system"},
    {"id": "text-embedding-9", "object": "model", "created": 1767225600, "owned_by": "system"},
    {"id": "tts-1", "object": "model", "created": 1, "owned_by": "system"},
    {"id": "gpt-image-2", "object": "model", "created": 1767225600, "owned_by": "system"},
]}

ANTHROPIC_PAGES = {
    None: {"data": [{"type": "model", "id": "claude-new-1", "display_name": "Claude New 1",
                     "created_at": "2026-10-01T00:00:00Z", "max_input_tokens": 400000, "max_tokens": 64000,
                     "capabilities": {"image_input": {"supported": True}, "pdf_input": {"supported": True}}}],
           "has_more": True, "first_id": "claude-new-1", "last_id": "claude-new-1"},
    "claude-new-1": {"data": [{"type": "model", "id": "claude-3-5-haiku-20241022", "display_name": "Claude 3.5 Haiku",
                               "created_at": "2024-10-22T00:00:00Z", "max_input_tokens": 300000}],
                     "has_more": True, "first_id": "claude-3-5-haiku-20241022", "last_id": "claude-3-5-haiku-20241022"},
    "claude-3-5-haiku-20241022": {"data": [{"type": "model", "id": "claude-old", "display_name": "Claude Old",
                                            "created_at": "2023-03-01T00:00:00Z"}],
                                  "has_more": False, "first_id": "claude-old", "last_id": "claude-old"},
}

GEMINI_PAGES = {
    None: {"models": [{"name": "models/gemini-9-pro", "displayName": "Gemini 9 Pro", "inputTokenLimit": 2097152,
                       "outputTokenLimit": 65536, "supportedGenerationMethods": ["generateContent", "countTokens"],
                       "thinking": True}], "nextPageToken": "p2"},
    "p2": {"models": [{"name": "models/gemini-embedding-9", "displayName": "Gemini Embedding 9",
                       "inputTokenLimit": 2048, "outputTokenLimit": 1, "supportedGenerationMethods": ["embedContent"]},
                      {"name": "models/aqa", "displayName": "AQA", "supportedGenerationMethods": ["generateAnswer"]}]},
}

BEDROCK_LIST = {"modelSummaries": [
    {"modelId": "meta.llama9-70b-instruct-v1:0", "modelName": "Llama 9 70B", "providerName": "Meta",
     "inputModalities": ["TEXT", "IMAGE"], "outputModalities": ["TEXT"], "responseStreamingSupported": True,
     "inferenceTypesSupported": ["ON_DEMAND"], "modelLifecycle": {"status": "LEGACY"}},
    {"modelId": "amazon.titan-embed-text-v9:0", "modelName": "Titan Embeddings V9", "inputModalities": ["TEXT"],
     "outputModalities": ["EMBEDDING"], "inferenceTypesSupported": ["ON_DEMAND"], "modelLifecycle": {"status": "ACTIVE"}},
    {"modelId": "anthropic.claude-provisioned-v1:0", "modelName": "Provisioned", "inputModalities": ["TEXT"],
     "outputModalities": ["TEXT"], "inferenceTypesSupported": ["PROVISIONED"], "modelLifecycle": {"status": "ACTIVE"}},
]}

PROVIDER_FILES = {
    "openai": "id: openai\nname: OpenAI\nadapter: openai\nbase_url: https://api.openai.com/v1\n"
              "env: {api_key: OPENAI_API_KEY}\n",
    "anthropic": "id: anthropic\nname: Anthropic\nadapter: anthropic\nbase_url: https://api.anthropic.com\n"
                 "env: {api_key: ANTHROPIC_API_KEY}\n",
    "gemini": "id: gemini\nname: Gemini\nadapter: gemini\nbase_url: https://generativelanguage.googleapis.com\n"
              "env: {api_key: GEMINI_API_KEY}\n",
    "bedrock": "id: bedrock\nname: Bedrock\nadapter: bedrock\nbase_url: https://bedrock-runtime.{region}.amazonaws.com\n"
               "env: {access_key_id: AWS_ACCESS_KEY_ID, secret_access_key: AWS_SECRET_ACCESS_KEY}\n",
    "groq": "id: groq\nname: Groq\nadapter: openai\nbase_url: https://api.groq.com/openai/v1\n"
            "env: {api_key: GROQ_API_KEY}\n",
}

CURATED = {
    "openai/gpt-4o.yaml": "id: gpt-4o\nname: GPT-4o   # curated, odd spacing kept\ncapabilities: [chat]\n"
                          "context_window: 128000\npricing: {input: 2.50, output: 10.00}\n",
    "openai/gpt-3.yaml": "id: gpt-3\nname: GPT-3\ncapabilities: [chat]\ncontext_window: 2048\n"
                         "pricing: {input: 1, output: 1}\n",
    "anthropic/claude-3-5-haiku-20241022.yaml": "id: claude-3-5-haiku-20241022\nname: Claude 3.5 Haiku\n"
                                                "capabilities: [chat]\ncontext_window: 200000\n"
                                                "pricing: {input: 0.8, output: 4}\naliases: [claude-old]\n",
}


def _route(path: str, query: dict[str, str], headers: dict[str, str]) -> tuple[int, Any]:
    if path == "/openai/models":
        assert headers.get("authorization") == "Bearer sk-test"
        return 200, OPENAI_LIST
    if path == "/anthropic/v1/models":
        assert headers.get("x-api-key") == "ak-test" and headers.get("anthropic-version") == "2023-06-01"
        return 200, ANTHROPIC_PAGES[query.get("after_id")]
    if path == "/gemini/v1beta/models":
        assert headers.get("x-goog-api-key") == "gk-test"
        return 200, GEMINI_PAGES[query.get("pageToken")]
    if path == "/bedrock/foundation-models":
        auth = headers.get("authorization", "")
        assert auth.startswith("AWS4-HMAC-SHA256 Credential=AKIDTEST/") and "/bedrock/aws4_request" in auth
        return 200, BEDROCK_LIST
    if path == "/groq/models":
        return 500, {"error": {"message": "boom"}}
    if path == "/badjson/models":
        return 200, b"<html>not json</html>"
    return 404, {"error": "no such path"}


def _registry(tmp_path: Path) -> Path:
    reg = tmp_path / "registry"
    for pid, text in PROVIDER_FILES.items():
        (reg / "providers").mkdir(parents=True, exist_ok=True)
        (reg / "providers" / f"{pid}.yaml").write_text(text)
    for rel, text in CURATED.items():
        path = reg / "models" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return reg


def _settings(base: str, **overrides: ProviderSettings) -> Settings:
    providers = {
        "openai": ProviderSettings("openai", "openai", f"{base}/openai", api_key="sk-test",
                                   credential_env=("OPENAI_API_KEY",)),
        "anthropic": ProviderSettings("anthropic", "anthropic", f"{base}/anthropic", api_key="ak-test",
                                      credential_env=("ANTHROPIC_API_KEY",)),
        "gemini": ProviderSettings("gemini", "gemini", f"{base}/gemini", api_key="gk-test",
                                   credential_env=("GEMINI_API_KEY", "GOOGLE_API_KEY")),
        "bedrock": ProviderSettings("bedrock", "bedrock", f"{base}/bedrock-runtime", control_url=f"{base}/bedrock",
                                    aws=AwsCredentials("AKIDTEST", "secret", None, "us-east-1"),
                                    credential_env=("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")),
        "groq": ProviderSettings("groq", "openai", f"{base}/groq", api_key=None, credential_env=("GROQ_API_KEY",)),
    }
    providers.update(overrides)
    return Settings(providers=providers)


def _digest(reg: Path) -> dict[str, str]:
    return {str(p.relative_to(reg)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(reg.rglob("*.yaml"))}


def _run(reg: Path, settings: Settings, **kw: Any) -> tuple[Any, str]:
    err = io.StringIO()
    report = sync_models(reg, settings, only=kw.pop("only", None), dry_run=kw.pop("dry_run", False), today=TODAY,
                         err=err)
    return report, err.getvalue()


def test_full_sync_adds_new_models_and_never_touches_curated_files(tmp_path: Path) -> None:
    reg = _registry(tmp_path)
    before = _digest(reg)
    with fake_server(_route) as (base, seen):
        report, err = _run(reg, _settings(base))
    after = _digest(reg)
    for rel, digest in before.items():
        assert after[rel] == digest, f"{rel} was modified"
    added = sorted(str(p.relative_to(reg)) for p in report.written)
    assert added == [
        "models/anthropic/claude-new-1.yaml",
        "models/bedrock/amazon.titan-embed-text-v9_0.yaml",
        "models/bedrock/meta.llama9-70b-instruct-v1_0.yaml",
        "models/gemini/gemini-9-pro.yaml",
        "models/gemini/gemini-embedding-9.yaml",
        "models/openai/gpt-9.yaml",
        "models/openai/gpt-image-2.yaml",
        "models/openai/text-embedding-9.yaml",
    ]
    # anthropic was paginated across three pages with after_id
    cursors = [q.get("after_id") for p, q, _ in seen if p == "/anthropic/v1/models"]
    assert cursors == [None, "claude-new-1", "claude-3-5-haiku-20241022"]
    assert [q.get("pageToken") for p, q, _ in seen if p == "/gemini/v1beta/models"] == [None, "p2"]
    assert "groq: skipped, no credentials (set GROQ_API_KEY)" in err
    assert report.ok  # skipped-for-credentials is not a failure when no provider was named


def test_written_files_hold_what_the_api_said(tmp_path: Path) -> None:
    reg = _registry(tmp_path)
    with fake_server(_route) as (base, _):
        _run(reg, _settings(base))
    claude = yaml.safe_load((reg / "models/anthropic/claude-new-1.yaml").read_text())
    assert claude["context_window"] == 400000 and claude["max_output_tokens"] == 64000
    assert claude["capabilities"] == ["chat"] and "vision" in claude["features"] and "pdf_input" in claude["features"]
    assert claude["sync"]["source"].endswith("/anthropic/v1/models")
    assert str(claude["sync"]["at"]) == TODAY and "pricing" not in claude
    gemini = yaml.safe_load((reg / "models/gemini/gemini-9-pro.yaml").read_text())
    assert gemini["context_window"] == 2097152 and "reasoning" in gemini["features"]
    assert yaml.safe_load((reg / "models/gemini/gemini-embedding-9.yaml").read_text())["capabilities"] == ["embedding"]
    llama = yaml.safe_load((reg / "models/bedrock/meta.llama9-70b-instruct-v1_0.yaml").read_text())
    assert llama["id"] == "meta.llama9-70b-instruct-v1:0" and llama["status"] == "deprecated"
    assert llama["modalities"] == {"input": ["text", "image"], "output": ["text"]}
    image = yaml.safe_load((reg / "models/openai/gpt-image-2.yaml").read_text())
    assert image["capabilities"] == ["image_generation"]


def test_differences_and_vanished_models_are_reported_not_applied(tmp_path: Path) -> None:
    reg = _registry(tmp_path)
    with fake_server(_route) as (base, _):
        report, _ = _run(reg, _settings(base))
    lines = [line for o in report.outcomes if o.plan for line in o.plan.report]
    assert "claude-3-5-haiku-20241022: context_window is 200,000 in claude-3-5-haiku-20241022.yaml, the API says 300,000" in lines
    assert "gpt-3: no longer listed upstream (consider status: deprecated)" in lines
    skipped = [line for o in report.outcomes if o.plan for line in o.plan.skipped]
    assert any(s.startswith("tts-1:") for s in skipped)
    assert any(s.startswith("anthropic.claude-provisioned-v1:0:") for s in skipped)
    assert any(s.startswith("aqa:") for s in skipped)
    # claude-old is an alias of a curated model: not added again
    assert not (reg / "models/anthropic/claude-old.yaml").exists()


def test_second_run_adds_nothing(tmp_path: Path) -> None:
    reg = _registry(tmp_path)
    with fake_server(_route) as (base, _):
        first, _ = _run(reg, _settings(base))
        snapshot = _digest(reg)
        second, _ = _run(reg, _settings(base))
    assert first.written and not second.written
    assert _digest(reg) == snapshot


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    reg = _registry(tmp_path)
    before = _digest(reg)
    with fake_server(_route) as (base, _):
        report, _ = _run(reg, _settings(base), dry_run=True)
    assert _digest(reg) == before
    assert not report.written
    assert sum(len(o.plan.additions) for o in report.outcomes if o.plan) == 8


def test_a_failing_provider_is_reported_and_the_others_still_sync(tmp_path: Path) -> None:
    reg = _registry(tmp_path)
    with fake_server(_route) as (base, _):
        settings = _settings(base, groq=ProviderSettings("groq", "openai", f"{base}/groq", api_key="gq"),
                             gemini=ProviderSettings("gemini", "openai", f"{base}/badjson", api_key="x"))
        report, err = _run(reg, settings)
    status = {o.provider: o.status for o in report.outcomes}
    assert status == {"anthropic": "ok", "bedrock": "ok", "gemini": "failed", "groq": "failed", "openai": "ok"}
    assert "groq: failed: GET " in err and "answered 500" in err
    assert "gemini: failed:" in err and "did not return JSON" in err
    assert not report.ok
    assert "sk-test" not in err and "gq" not in err.replace("groq", "")


def test_named_provider_without_credentials_fails_the_run(tmp_path: Path) -> None:
    reg = _registry(tmp_path)
    with fake_server(_route) as (base, _):
        report, err = _run(reg, _settings(base), only=["groq", "openai"])
    assert [o.provider for o in report.outcomes] == ["groq", "openai"]
    assert not report.ok and "set GROQ_API_KEY" in err


def test_unknown_provider_is_a_clear_error(tmp_path: Path) -> None:
    from vllora.errors import VlloraError

    reg = _registry(tmp_path)
    with pytest.raises(VlloraError, match="unknown provider"):
        _run(reg, _settings("http://127.0.0.1:9"), only=["nope"])


@pytest.mark.parametrize(("model_id", "expected"), [
    ("gpt-4o", "gpt-4o.yaml"), ("anthropic.claude-3-5-sonnet-20241022-v2:0", "anthropic.claude-3-5-sonnet-20241022-v2_0.yaml"),
    ("meta-llama/Llama-3.3-70B", "meta-llama_Llama-3.3-70B.yaml"),
])
def test_file_names(model_id: str, expected: str) -> None:
    assert file_name(model_id) == expected


@pytest.mark.parametrize("value", ["gpt-4o", "a:b", "no", "123", "meta-llama/x", "x y", "true", "null"])
def test_scalars_round_trip_through_yaml(value: str) -> None:
    assert yaml.safe_load(f"k: {scalar(value)}")["k"] == value


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_keyless_provider_is_skipped_unless_named(tmp_path: Path) -> None:
    """Issue 16: `vllora sync --models` exited 1 on every machine without a running Ollama."""
    reg = _registry(tmp_path)
    ollama = ProviderSettings("ollama", "openai", f"http://127.0.0.1:{_closed_port()}/v1", needs_credentials=False)
    with fake_server(_route) as (base, _):
        report, err = _run(reg, _settings(base, ollama=ollama))
        assert {o.provider: o.status for o in report.outcomes}["ollama"] == "skipped"
        assert report.ok and "ollama: skipped, not reachable at http://127.0.0.1:" in err
        named, err = _run(reg, _settings(base, ollama=ollama), only=["ollama"], dry_run=True)
    assert [o.status for o in named.outcomes] == ["failed"] and not named.ok and "ollama: failed: ConnectError" in err


def test_sync_never_writes_through_a_symlinked_model_folder(tmp_path: Path) -> None:
    import os

    from vllora.errors import VlloraError

    reg = _registry(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.rmtree(reg / "models" / "anthropic")
    os.symlink(elsewhere, reg / "models" / "anthropic")
    with fake_server(_route) as (base, _), pytest.raises(VlloraError, match="symbolic link"):
        _run(reg, _settings(base), only=["anthropic"])
    assert list(elsewhere.iterdir()) == []


def test_sync_reads_registry_files_with_the_safe_loader(tmp_path: Path) -> None:
    """A symlinked file is not read and an alias bomb is not expanded (the same rules as `vllora validate`)."""
    import os

    from vllora.sync.plan import existing_models

    folder = tmp_path / "openai"
    folder.mkdir()
    (folder / "gpt-x.yaml").write_text("id: gpt-x\nname: X\ncapabilities: [chat]\n")
    outside = tmp_path / "outside.yaml"
    outside.write_text("id: from-outside\nname: X\ncapabilities: [chat]\n")
    os.symlink(outside, folder / "linked.yaml")
    bomb = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    bomb += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 6)]
    (folder / "bomb.yaml").write_text("id: bomb\n" + "\n".join(bomb) + "\n")
    assert sorted(existing_models(folder)) == ["gpt-x"]
