"""Credential kinds belong to the adapter: config and ProviderSettings read each adapter's CREDENTIALS generically
(Azure's key or Entra ID token, Vertex's project / credentials file, Bedrock's key pair or API key)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vllora.catalog.source import load_catalog
from vllora.config import load_settings
from vllora.providers import ADAPTERS, credential_spec
from vllora.providers.credentials import CredentialSpec
from vllora.settings import ProviderSettings

REGISTRY = Path(__file__).resolve().parents[2] / "registry"
ENDPOINT = {"AZURE_OPENAI_ENDPOINT": "https://my-res.openai.azure.com/"}


@pytest.fixture(scope="module")
def catalog():  # type: ignore[no-untyped-def]
    return load_catalog(REGISTRY)


def test_every_adapter_declares_its_credentials() -> None:
    for protocol in ADAPTERS:
        spec = credential_spec(protocol)
        assert isinstance(spec, CredentialSpec) and spec.any_of
        assert all(set(group) <= set(spec.names()) for group in spec.any_of)


def test_azure_needs_an_endpoint_and_a_key(catalog) -> None:  # type: ignore[no-untyped-def]
    azure = load_settings(catalog, None, {"AZURE_OPENAI_API_KEY": "az-key"}).providers["azure"]
    assert not azure.configured  # the endpoint template is still unfilled
    assert azure.credential_env == ("AZURE_OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT")
    azure = load_settings(catalog, None, {"AZURE_OPENAI_API_KEY": "az-key", **ENDPOINT}).providers["azure"]
    assert azure.configured and azure.base_url == "https://my-res.openai.azure.com" and azure.api_key == "az-key"
    assert "api_version" not in azure.options  # the v1 API
    assert not load_settings(catalog, None, ENDPOINT).providers["azure"].configured


def test_azure_entra_id_token_alone_is_enough(catalog) -> None:  # type: ignore[no-untyped-def]
    env = {"AZURE_OPENAI_AD_TOKEN": "entra-secret", "OPENAI_API_VERSION": "2024-10-21", **ENDPOINT}
    azure = load_settings(catalog, None, env).providers["azure"]
    assert azure.configured and azure.api_key is None  # before: configured meant bool(api_key) for all but bedrock
    assert azure.credentials["ad_token"] == "entra-secret" and azure.options["api_version"] == "2024-10-21"
    assert "entra-secret" not in repr(azure)


def test_azure_deployments_from_the_config(tmp_path: Path, catalog) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "vllora.yaml"
    path.write_text("providers:\n  azure:\n    api_key: ${AZ}\n    base_url: https://r.openai.azure.com\n"
                    "    api_version: 2025-04-01-preview\n    deployments: {gpt-4o: prod-4o}\n")
    azure = load_settings(catalog, path, {"AZ": "k"}).providers["azure"]
    assert azure.configured and azure.options["deployments"] == {"gpt-4o": "prod-4o"}
    assert azure.options["api_version"] == "2025-04-01-preview"


def test_vertex_project_location_and_credentials_file(catalog) -> None:  # type: ignore[no-untyped-def]
    vertex = load_settings(catalog, None, {}).providers["vertex"]
    assert vertex.needs_credentials and not vertex.configured
    assert vertex.credential_env == ("GOOGLE_CLOUD_PROJECT",)
    vertex = load_settings(catalog, None, {"GOOGLE_CLOUD_PROJECT": "p1"}).providers["vertex"]
    assert vertex.configured and vertex.options == {"project": "p1", "region": "global"}
    assert vertex.base_url == "https://global-aiplatform.googleapis.com"  # the adapter drops "global-"
    assert vertex.token_source == "vllora.providers.vertex_auth:GoogleTokens"
    env = {"GOOGLE_APPLICATION_CREDENTIALS": "/keys/sa.json", "GOOGLE_CLOUD_LOCATION": "us-east5"}
    vertex = load_settings(catalog, None, env).providers["vertex"]
    assert vertex.configured and vertex.credentials == {"credentials_file": "/keys/sa.json"}
    assert vertex.base_url == "https://us-east5-aiplatform.googleapis.com" and vertex.options["region"] == "us-east5"


def test_bedrock_api_key_or_key_pair(catalog) -> None:  # type: ignore[no-untyped-def]
    bedrock = load_settings(catalog, None, {"AWS_BEARER_TOKEN_BEDROCK": "bk"}).providers["bedrock"]
    assert bedrock.configured and bedrock.aws is None and bedrock.api_key == "bk"
    bedrock = load_settings(catalog, None, {"AWS_ACCESS_KEY_ID": "a"}).providers["bedrock"]
    assert not bedrock.configured and bedrock.credential_env == ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


def test_configured_reads_the_declared_sets_not_the_adapter_name() -> None:
    sets = (("access_key_id", "secret_access_key"), ("api_key",))
    for adapter in ("bedrock", "openai", "anything"):
        half = ProviderSettings("p", adapter, "https://x", credentials={"access_key_id": "a"}, credential_sets=sets)
        full = ProviderSettings("p", adapter, "https://x", credentials={"access_key_id": "a", "secret_access_key": "s"},
                                credential_sets=sets)
        assert not half.configured and full.configured
