"""`--config` files: ${VAR} interpolation, file:line errors, env-only settings, route checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from vllora.catalog.source import load_catalog
from vllora.config import load_settings
from vllora.errors import ConfigError

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "registry"


@pytest.fixture(scope="module")
def catalog():  # type: ignore[no-untyped-def]
    return load_catalog(FIXTURE)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "vllora.yaml"
    path.write_text(text)
    return path


def test_env_only(catalog) -> None:  # type: ignore[no-untyped-def]
    s = load_settings(catalog, None, {"ANTHROPIC_API_KEY": "sk-ant-secret", "GOOGLE_API_KEY": "g", "AWS_ACCESS_KEY_ID": "k",
                                      "AWS_SECRET_ACCESS_KEY": "s", "AWS_REGION": "eu-west-1",
                                      "OPENAI_BASE_URL": "http://127.0.0.1:1/v1/"})
    assert s.providers["anthropic"].api_key == "sk-ant-secret" and s.providers["gemini"].api_key == "g"
    assert s.providers["bedrock"].base_url == "https://bedrock-runtime.eu-west-1.amazonaws.com"
    assert s.providers["bedrock"].aws is not None and s.providers["bedrock"].aws.region == "eu-west-1"
    assert s.providers["openai"].base_url == "http://127.0.0.1:1/v1" and not s.providers["openai"].configured
    assert s.server.host == "127.0.0.1" and s.server.port == 9090 and s.server.api_key is None
    assert s.provider_order == ()  # no config: ties go by the catalog (the maker first), not by name
    assert "sk-ant-secret" not in repr(s.providers["anthropic"])


def test_design_example(tmp_path: Path, catalog) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path, """\
providers:
  openai: {api_key: ${OPENAI_API_KEY}, base_url: https://api.openai.com/v1, timeout_s: 60, max_retries: 2}
routes:                           # virtual models: try in order
  smart: {targets: [anthropic/claude-3-5-sonnet-20241022, openai/gpt-4o]}
server: {max_body_mb: 32, api_key: ${VLLORA_API_KEY:-}}
""")
    s = load_settings(catalog, path, {"OPENAI_API_KEY": "sk-1", "VLLORA_API_KEY": "gw-key"})
    assert s.providers["openai"].api_key == "sk-1" and s.providers["openai"].timeout_s == 60
    assert s.routes["smart"].targets == ("anthropic/claude-3-5-sonnet-20241022", "openai/gpt-4o")
    assert s.server.api_key == "gw-key" and s.server.max_body_mb == 32
    assert s.provider_order[0] == "openai"


@pytest.mark.parametrize(("text", "env"), [
    ("server: {api_key: ${VLLORA_API_KEY:-}}\n", {}),  # as the docs once showed: unset -> empty -> open gateway
    ("server: {max_body_mb: 32}\n", {"VLLORA_API_KEY": ""}),
    ("server: {max_body_mb: 32}\n", {"VLLORA_API_KEY": "  "}),
])
def test_explicitly_empty_gateway_key_is_a_startup_error(tmp_path: Path, catalog, text: str,  # type: ignore[no-untyped-def]
                                                         env: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="gateway key is set but empty"):
        load_settings(catalog, write(tmp_path, text), env)
    with pytest.raises(ConfigError, match="gateway key is set but empty"):
        load_settings(catalog, None, {"VLLORA_API_KEY": ""})


def test_minimal_file_is_valid(tmp_path: Path, catalog) -> None:  # type: ignore[no-untyped-def]
    s = load_settings(catalog, write(tmp_path, "providers: {openai: {timeout_s: 2}}\n"), {"OPENAI_API_KEY": "k"})
    assert s.providers["openai"].timeout_s == 2 and s.providers["openai"].api_key == "k"


def test_values_with_yaml_syntax_are_safe(tmp_path: Path, catalog) -> None:  # type: ignore[no-untyped-def]
    s = load_settings(catalog, write(tmp_path, "providers: {openai: {api_key: ${K}, timeout_s: ${T:-7}}}\n"),
                      {"K": "a: b # {c}"})
    assert s.providers["openai"].api_key == "a: b # {c}" and s.providers["openai"].timeout_s == 7


@pytest.mark.parametrize(("text", "expected"), [
    ("providers:\n  openai: {api_key: ${MISSING_KEY}}\n", "vllora.yaml:2:21: ${MISSING_KEY} is not set"),
    ("server:\n  max_body_mb: lots\n", "vllora.yaml:2:16: /server/max_body_mb: expected a number"),
    ("server:\n  prot: 1\n", "vllora.yaml:2:3: /server/prot: unknown key 'prot'; did you mean 'port'?"),
    ("providers:\n  openai: {timeout: 5}\n", "unknown key 'timeout'; did you mean 'timeout_s'?"),
    ("providers:\n  nope: {timeout_s: 5}\n", "unknown provider(s) under providers: nope"),
    ("routes:\n  smart: {targets: [openai/gpt-5o]}\n", "vllora.yaml:2:21: route 'smart' names unknown model 'openai/gpt-5o'"),
    ("routes:\n  a: {targets: [b]}\n  b: {targets: [a]}\n", "routes form a cycle: a -> b -> a"),
    ("routes:\n  gpt-4o: {targets: [openai/gpt-4o]}\n", "hides a catalog model"),
    ("server: [1, 2\n", "YAML syntax error"),
])
def test_errors_name_file_and_line(tmp_path: Path, catalog, text: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError) as info:
        load_settings(catalog, write(tmp_path, text), {})
    assert expected in info.value.message, info.value.message
