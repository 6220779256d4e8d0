"""Issue 16 "Config file": substituted values are strings, errors never print them, finite bounds, alias bombs."""

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
    path.write_text(text, encoding="utf-8")
    return path


def test_a_numeric_secret_stays_a_string(tmp_path: Path, catalog) -> None:  # type: ignore[no-untyped-def]
    text = "server: {api_key: ${VLLORA_API_KEY}}\nproviders: {openai: {api_key: ${K}}}\n"
    s = load_settings(catalog, write(tmp_path, text), {"VLLORA_API_KEY": "123456789", "K": "0x1F"})
    assert s.server.api_key == "123456789" and s.providers["openai"].api_key == "0x1F"
    s = load_settings(catalog, write(tmp_path, "server: {api_key: ${V}}\n"), {"V": "true"})
    assert s.server.api_key == "true"


def test_numbers_from_variables_still_work_where_the_schema_wants_numbers(tmp_path: Path, catalog) -> None:  # type: ignore[no-untyped-def]
    text = "server: {port: ${PORT}, max_body_mb: ${MB}}\nproviders: {openai: {timeout_s: ${T:-7}, max_retries: ${R}}}\n"
    s = load_settings(catalog, write(tmp_path, text), {"PORT": "8081", "MB": "1.5", "R": "3"})
    assert (s.server.port, s.server.max_body_mb) == (8081, 1.5)
    assert (s.providers["openai"].timeout_s, s.providers["openai"].max_retries) == (7, 3)


@pytest.mark.parametrize(("text", "environ", "variable"), [
    ("server: {port: ${PORT}}\n", {"PORT": "hunter2-secret"}, "${PORT}"),
    ("server: {port: ${PORT}}\n", {"PORT": "99999999"}, "${PORT}"),
    ("providers: {openai: {timeout_s: ${T}}}\n", {"T": "-77.25"}, "${T}"),
    ("providers: {openai: {headers: {X-Key: ${K}}}}\n", {"K": "sk-live-secret\r\nX-Evil: 1"}, "${K}"),
    ("providers: {openai: {headers: {X-Key: \"Bearer ${K}\"}}}\n", {"K": "sk-live-secret\nX: 1"}, "${K}"),
])
def test_errors_name_the_variable_never_its_value(tmp_path: Path, catalog, text: str, environ: dict[str, str],  # type: ignore[no-untyped-def]
                                                   variable: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(catalog, write(tmp_path, text), environ)
    message = info.value.message
    assert variable in message and "vllora.yaml:1:" in message, message
    secret = next(iter(environ.values()))
    assert secret not in message and secret.split("\n")[0].split("\r")[0] not in message, message


@pytest.mark.parametrize(("text", "pointer"), [
    ("server: {max_body_mb: .inf}\n", "/server/max_body_mb"),
    ("server: {max_body_mb: .nan}\n", "/server/max_body_mb"),
    ("providers: {openai: {timeout_s: .nan}}\n", "/providers/openai/timeout_s"),
    ("providers: {openai: {connect_timeout_s: .inf}}\n", "/providers/openai/connect_timeout_s"),
    ("providers: {openai: {timeout_s: 1.0e+300}}\n", "/providers/openai/timeout_s"),
])
def test_non_finite_and_huge_bounds_are_clear_errors(tmp_path: Path, catalog, text: str, pointer: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError) as info:
        load_settings(catalog, write(tmp_path, text), {})
    assert "vllora.yaml:1:" in info.value.message and pointer in info.value.message


def test_alias_bomb_and_self_reference_in_the_config_are_refused(tmp_path: Path, catalog) -> None:  # type: ignore[no-untyped-def]
    lines = ["x0: &x0 [a, a, a, a, a, a, a, a, a]"]
    lines += [f"x{i}: &x{i} [{', '.join([f'*x{i - 1}'] * 9)}]" for i in range(1, 8)]
    with pytest.raises(ConfigError, match="alias"):
        load_settings(catalog, write(tmp_path, "\n".join(lines) + "\n"), {})
    with pytest.raises(ConfigError, match="self-referencing"):
        load_settings(catalog, write(tmp_path, "server: &s {x: *s}\n"), {})


def test_an_oversized_config_file_is_refused(tmp_path: Path, catalog) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="over 256 KB"):
        load_settings(catalog, write(tmp_path, "# " + "x" * 300_000 + "\n"), {})


def test_a_route_target_from_the_environment_is_not_printed(tmp_path: Path, catalog) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError) as info:
        load_settings(catalog, write(tmp_path, "routes:\n  smart: {targets: [${TARGET}]}\n"),
                      {"TARGET": "openai/secret-deployment-name"})
    assert "from ${TARGET}" in info.value.message and "secret-deployment-name" not in info.value.message
