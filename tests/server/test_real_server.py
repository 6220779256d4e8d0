"""The real catalog through the real server process: the seed page's examples verbatim, the openai SDK."""

from __future__ import annotations

import contextlib
import io
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.services import wait_healthy

ROOT = Path(__file__).resolve().parents[2]

SEED_EXAMPLE = '''
import requests

response = requests.get('http://localhost:9090/api/models')
models = response.json()

# List all chat models
chat_models = [m for m in models['models'] if 'chat' in m['capabilities']]
for model in chat_models:
    print(f"{model['id']} - {model['provider']}")
    print(f"  Context: {model['context_window']} tokens")
    print(f"  Price: ${model['pricing']['input']}/1M input, ${model['pricing']['output']}/1M output")
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_KEY_ID", "_ACCESS_KEY"))}
    env["OPENAI_API_KEY"] = "sk-test-never-used"
    env["VLLORA_DATA_DIR"] = str(tmp_path_factory.mktemp("data"))  # module scope runs before the autouse fixture
    proc = subprocess.Popen([sys.executable, "-m", "vllora", "serve", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        if not wait_healthy(url, 20, proc):
            proc.kill()
            raise RuntimeError(f"server did not start: {proc.communicate()[1]}")
        yield url
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        assert "sk-test-never-used" not in out + err
        assert "vllora serving" in err and re.search(r"models from \d+ providers", err)
        creds = next(line for line in err.splitlines() if "credentials:" in line)
        named = {p.strip() for p in creds.split("credentials:", 1)[1].split("|", 1)[0].split(",")}
        assert named == {"llamacpp", "lmstudio", "ollama", "openai", "vllm"}  # the keyless local servers + the key set


def test_seed_python_example_verbatim(server: str) -> None:
    code = SEED_EXAMPLE.replace("http://localhost:9090", server)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "seed-example", "exec"), {})
    text = out.getvalue()
    assert "gpt-4o - openai\n  Context: 128000 tokens\n  Price: $2.5/1M input, $10.0/1M output" in text
    assert "claude-3-5-sonnet-20241022 - anthropic" in text
    assert "anthropic.claude-3-5-sonnet-20241022-v2:0 - bedrock" in text


@pytest.mark.parametrize(("query", "must_include", "providers"), [
    ("", "dall-e-2", None),
    ("?provider=anthropic", "claude-3-5-haiku-20241022", {"anthropic"}),
    ("?capability=chat", "gemini-2.0-flash-exp", None),
    ("?capability=embedding", "text-embedding-004", None),
    ("?capability=image_generation", "dall-e-3", None),
])
def test_seed_curls(server: str, query: str, must_include: str, providers: set[str] | None) -> None:
    r = httpx.get(f"{server}/api/models{query}")
    assert r.status_code == 200
    models = r.json()["models"]
    assert must_include in {m["id"] for m in models}
    if providers:
        assert {m["provider"] for m in models} == providers
    if "capability=" in query:
        cap = query.split("=", 1)[1]
        assert all(cap in m["capabilities"] for m in models)


def test_openai_sdk_lists_and_retrieves(server: str) -> None:
    import openai

    with openai.OpenAI(base_url=f"{server}/v1", api_key="x", max_retries=0) as client:
        ids = {m.id for m in client.models.list()}
        assert {"gpt-4o", "claude-3-5-sonnet-20241022", "bedrock/anthropic.claude-3-5-sonnet-20241022-v2:0"} <= ids
        assert len(ids) > 150
        assert client.models.retrieve("gpt-4o").owned_by == "openai"


def test_seed_chat_curl_without_upstream_gives_a_clear_error(server: str) -> None:
    r = httpx.post(f"{server}/v1/chat/completions", timeout=30, headers={"Content-Type": "application/json"},
                   content=b'{"model": "claude-3-5-sonnet-20241022", "messages": [{"role": "user", "content": "Hello"}]}')
    assert r.status_code == 401 and "ANTHROPIC_API_KEY" in r.json()["error"]["message"]


def test_bad_config_is_one_line_and_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("server:\n  prot: 1\n")
    proc = subprocess.run([sys.executable, "-m", "vllora", "serve", "--config", str(config)], cwd=ROOT,
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert "bad.yaml:2:3: /server/prot: unknown key 'prot'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_variable_is_a_startup_error(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("providers:\n  openai: {api_key: ${NOT_SET_ANYWHERE}}\n")
    env = {k: v for k, v in os.environ.items() if k != "NOT_SET_ANYWHERE"}
    proc = subprocess.run([sys.executable, "-m", "vllora", "serve", "--config", str(config)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2 and "${NOT_SET_ANYWHERE} is not set" in proc.stderr
