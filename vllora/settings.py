"""Resolved runtime settings: what the gateway knows after reading the catalog, the config file and the env.

These are plain frozen dataclasses, built once at startup by ``vllora.config.load_settings`` and passed
down by dependency injection (``app.state.settings``). Nothing here reads the environment by itself.
Secrets live only in ``ProviderSettings.api_key`` / ``AwsCredentials``; their ``repr`` hides them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class AwsCredentials:
    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)
    region: str = "us-east-1"


@dataclass(frozen=True, slots=True)
class ProviderSettings:
    """One provider as the gateway will call it."""

    id: str
    adapter: str  # a key of vllora.providers.ADAPTERS ("openai", "anthropic", "gemini", "bedrock", "azure", "vertex")
    base_url: str  # as the adapter expects it (OpenAI: includes /v1; Anthropic/Gemini: host only)
    api_key: str | None = field(default=None, repr=False)
    aws: AwsCredentials | None = None
    control_url: str | None = None  # Bedrock control plane (model listing), AWS_ENDPOINT_URL_BEDROCK
    timeout_s: float = 60.0
    connect_timeout_s: float = 10.0
    max_retries: int = 2
    headers: tuple[tuple[str, str], ...] = ()  # static extra headers from the provider file
    credential_env: tuple[str, ...] = ()  # env var names to mention when credentials are missing
    needs_credentials: bool = True  # False for e.g. a local Ollama
    # the adapter's declared credential fields (vllora.providers.credentials): values found, and which sets suffice
    credentials: Mapping[str, str] = field(default_factory=dict, repr=False)
    credential_sets: tuple[tuple[str, ...], ...] = ()  # () = any credential value at all
    options: Mapping[str, Any] = field(default_factory=dict)  # non-secret adapter settings (project, api_version)
    token_source: str | None = None  # "module:factory" minting OAuth2 access tokens at request time
    region: str | None = None  # the configured region (picks a Bedrock inference profile for a bare model id)
    stream_usage: bool = False  # accepts stream_options.include_usage: always asked, hidden when the client did not ask
    native_surfaces: tuple[str, ...] = ()  # "responses" | "messages": surfaces forwarded to the provider as they are
    configured: bool = field(init=False, repr=False, compare=False)  # computed once: asked on every attempt

    def __post_init__(self) -> None:
        object.__setattr__(self, "configured", self._configured())

    def _configured(self) -> bool:
        if not self.needs_credentials:
            return True
        if "{" in self.base_url:  # a template the operator must fill (e.g. an Azure resource endpoint)
            return False
        have = {k for k, v in self.credentials.items() if v} | {k for k, v in self.options.items() if v}
        if self.api_key:
            have.add("api_key")
        if self.aws is not None:
            have.update(("access_key_id", "secret_access_key"))
        if not self.credential_sets:
            return bool(have)
        return any(set(group) <= have for group in self.credential_sets)


@dataclass(frozen=True, slots=True)
class RouteSettings:
    """A virtual model from the config's ``routes:``."""

    name: str
    targets: tuple[str, ...]  # "provider/model" refs, tried in order
    strategy: str = "fallback"  # "fallback" | "round_robin"


@dataclass(frozen=True, slots=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 9090
    max_body_mb: float = 32.0
    api_key: str | None = field(default=None, repr=False)  # VLLORA_API_KEY / server.api_key
    workers: int = 1
    upstream_max_body_mb: float = 64.0  # cap on one upstream JSON reply (502 beyond)
    allowed_hosts: tuple[str, ...] = ()  # Host header names accepted besides loopback and host; "*" disables


@dataclass(frozen=True, slots=True)
class DataSettings:
    """Where the gateway keeps what it records (DESIGN.md section 9). ``data_dir`` None: an in-memory database."""

    data_dir: str | None = None  # VLLORA_DATA_DIR, else $XDG_DATA_HOME/vllora, else ~/.local/share/vllora
    database_url: str | None = field(default=None, repr=False)  # database_url / VLLORA_DATABASE_URL
    redis_url: str | None = field(default=None, repr=False)  # redis_url / VLLORA_REDIS_URL
    log_bodies: bool = False
    log_retention_days: float = 30.0
    budget_policy: str = "fail_closed"  # when Redis is down: refuse (503) requests of keys with a budget
    rate_limit_policy: str = "fail_open"  # when Redis is down: serve requests of keys with rpm/tpm, and warn


@dataclass(frozen=True, slots=True)
class Settings:
    providers: dict[str, ProviderSettings]
    provider_order: tuple[str, ...] = ()  # the config's providers: order (ties otherwise: makers first)
    routes: dict[str, RouteSettings] = field(default_factory=dict)
    server: ServerSettings = field(default_factory=ServerSettings)
    data: DataSettings = field(default_factory=DataSettings)
