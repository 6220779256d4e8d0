"""Build ``Settings`` from the catalog's provider files, an optional ``--config`` YAML file and the environment.

Precedence for each provider value: the config file, then the environment variables named in the provider
file, then the provider file's defaults. ``${VAR}`` and ``${VAR:-default}`` in the config file are replaced
from the environment; an unset ``${VAR}`` without a default is a ``ConfigError`` naming it and its line.
Config problems are reported as ``file:LINE:COL: message`` (schema-checked like the registry).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vllora.catalog import Catalog
from vllora.errors import ConfigError
from vllora.settings import AwsCredentials, DataSettings, ProviderSettings, RouteSettings, ServerSettings, Settings

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _first_env(names: Any, environ: Mapping[str, str]) -> str | None:
    for name in [names] if isinstance(names, str) else list(names or []):
        value = environ.get(name)
        if value:
            return value
    return None


def _names(value: Any) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value or ())


_PLACEHOLDER = "__vllora_var_{}__"
_PLACEHOLDER_RE = re.compile(r"__vllora_var_(\d+)__")


def _protect(text: str, path: Path, environ: Mapping[str, str]) -> tuple[str, list[str]]:
    """Replace each ``${VAR}`` / ``${VAR:-default}`` by a YAML-safe placeholder; return the values in order.

    Interpolating before parsing lets ``{api_key: ${KEY:-}}`` work inside flow mappings (as DESIGN.md writes
    it) while a value with YAML syntax in it (``#``, ``: ``, braces) can never change the file's structure.
    """
    values: list[str] = []

    def repl(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in environ:
            values.append(environ[name])
        elif default is not None:
            values.append(default)
        else:
            line = text.count("\n", 0, match.start()) + 1
            col = match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1
            raise ConfigError(f"{path}:{line}:{col}: ${{{name}}} is not set; export {name} or write ${{{name}:-default}}")
        return _PLACEHOLDER.format(len(values) - 1)

    return _VAR.sub(repl, text), values


def _restore(value: Any, values: list[str]) -> Any:
    if isinstance(value, dict):
        return {k: _restore(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_restore(v, values) for v in value]
    if not isinstance(value, str) or "__vllora_var_" not in value:
        return value
    whole = _PLACEHOLDER_RE.fullmatch(value)
    if whole is not None:  # the whole scalar came from a variable: type it like YAML would (60 -> int)
        raw = values[int(whole.group(1))]
        typed = _scalar_type(raw)
        return typed
    return _PLACEHOLDER_RE.sub(lambda m: values[int(m.group(1))], value)


def _scalar_type(raw: str) -> Any:
    import yaml

    try:
        typed = yaml.safe_load(raw) if raw and "\n" not in raw else raw
    except yaml.YAMLError:
        return raw
    return typed if isinstance(typed, bool | int | float) else raw


def read_config(path: Path, environ: Mapping[str, str]) -> tuple[dict[str, Any], Any]:
    """Parse, interpolate and schema-check a config file. Errors name the file, line and column."""
    from vllora.catalog.build import _validator, schemas_dir
    from vllora.catalog.loader import load_document
    from vllora.catalog.rules import schema_problems

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file ({exc.strerror})") from None
    protected, values = _protect(text, path, environ)
    doc = load_document(protected, str(path))
    if doc.problems:
        raise ConfigError(doc.problems[0].format_text())
    if doc.value is None or doc.value == {}:
        return {}, doc
    if not isinstance(doc.value, dict):
        raise ConfigError(f"{path}:1:1: the config file must be a YAML mapping (providers:, routes:, server:)")
    doc.value = _restore(doc.value, values)
    problems = schema_problems(doc, _validator(schemas_dir() / "config.schema.json"))
    if problems:
        raise ConfigError("\n".join(p.format_text() for p in problems))
    return doc.value, doc


def _provider(entry: Mapping[str, Any], conf: Mapping[str, Any], environ: Mapping[str, str]) -> ProviderSettings:
    env = entry.get("env") or {}
    adapter = entry["adapter"]
    api_key = conf.get("api_key") or _first_env(env.get("api_key"), environ)
    region = conf.get("region") or _first_env(env.get("region"), environ) or entry.get("default_region") or "us-east-1"
    base_url = conf.get("base_url") or _first_env(env.get("base_url"), environ) or entry["base_url"]
    control = conf.get("control_url") or _first_env(env.get("control_url"), environ) or entry.get("control_url")
    aws = None
    if adapter == "bedrock":
        key_id = conf.get("access_key_id") or _first_env(env.get("access_key_id"), environ)
        secret = conf.get("secret_access_key") or _first_env(env.get("secret_access_key"), environ)
        token = conf.get("session_token") or _first_env(env.get("session_token"), environ)
        if key_id and secret:
            aws = AwsCredentials(key_id, secret, token or None, region)
    credential_env = (
        _names(env.get("access_key_id")) + _names(env.get("secret_access_key"))
        if adapter == "bedrock" else _names(env.get("api_key"))
    )
    headers = {**(entry.get("headers") or {}), **(conf.get("headers") or {})}
    return ProviderSettings(
        id=entry["id"],
        adapter=adapter,
        base_url=str(base_url).replace("{region}", region).rstrip("/"),
        api_key=api_key or None,
        aws=aws,
        control_url=str(control).replace("{region}", region).rstrip("/") if control else None,
        timeout_s=float(conf.get("timeout_s", 60.0)),
        connect_timeout_s=float(conf.get("connect_timeout_s", 10.0)),
        max_retries=int(conf.get("max_retries", 2)),
        headers=tuple(sorted(headers.items())),
        credential_env=credential_env,
        needs_credentials=adapter == "bedrock" or "api_key" in env,
        native_surfaces=tuple(conf["native_surfaces"] if "native_surfaces" in conf else entry.get("native_surfaces") or ()),
    )


def load_settings(catalog: Catalog, config_path: Path | None, environ: Mapping[str, str]) -> Settings:
    conf, doc = read_config(config_path, environ) if config_path is not None else ({}, None)
    where = str(config_path) if config_path else "config"
    conf_providers: dict[str, Any] = conf.get("providers") or {}
    unknown = [p for p in conf_providers if p not in catalog.providers]
    if unknown:
        raise ConfigError(f"{where}: unknown provider(s) under providers: {', '.join(unknown)}; "
                          f"known: {', '.join(catalog.providers)}")
    providers = {pid: _provider(entry, conf_providers.get(pid) or {}, environ)
                 for pid, entry in catalog.providers.items()}
    order = tuple(conf_providers) + tuple(p for p in sorted(providers) if p not in conf_providers)

    routes: dict[str, RouteSettings] = {}
    for name, route in (conf.get("routes") or {}).items():
        routes[name] = RouteSettings(name, tuple(route["targets"]), route.get("strategy", "fallback"))
    check_routes(routes, catalog, doc, where)

    server_conf = conf.get("server") or {}
    api_key = server_conf.get("api_key")
    if api_key is None:
        api_key = environ.get("VLLORA_API_KEY")
    server = ServerSettings(
        host=server_conf.get("host", "127.0.0.1"),
        port=int(server_conf.get("port", 9090)),
        max_body_mb=float(server_conf.get("max_body_mb", 32)),
        api_key=api_key or None,
        workers=int(server_conf.get("workers", 1)),
    )
    return Settings(providers=providers, provider_order=order, routes=routes, server=server,
                    data=data_settings(conf, environ))


def data_settings(conf: Mapping[str, Any], environ: Mapping[str, str]) -> DataSettings:
    """The data directory, database and Redis URLs and log settings: config keys first, then the environment."""
    from vllora.store.base import default_data_dir

    return DataSettings(
        data_dir=str(default_data_dir(dict(environ))),
        database_url=conf.get("database_url") or environ.get("VLLORA_DATABASE_URL") or None,
        redis_url=conf.get("redis_url") or environ.get("VLLORA_REDIS_URL") or None,
        log_bodies=bool(conf.get("log_bodies", False)),
        log_retention_days=float(conf.get("log_retention_days", 30)),
        budget_policy=(conf.get("limits_policy") or {}).get("budgets", "fail_closed"),
        rate_limit_policy=(conf.get("limits_policy") or {}).get("rate_limits", "fail_open"),
    )


def check_routes(routes: Mapping[str, RouteSettings], catalog: Catalog, doc: Any, where: str) -> None:
    """Every target names a catalog model (``provider/model``, id or alias) or another route; no cycles."""

    def at(pointer: str) -> str:
        if doc is None:
            return where
        line, col = doc.where(pointer)
        return f"{where}:{line}:{col}"

    for name, route in routes.items():
        if name in catalog.index:
            raise ConfigError(f"{at(f'/routes/{name}')}: route name {name!r} hides a catalog model; choose another")
        for i, target in enumerate(route.targets):
            if target in routes:
                continue
            if not catalog.find(target):
                raise ConfigError(f"{at(f'/routes/{name}/targets/{i}')}: route {name!r} names unknown model "
                                  f"{target!r}; use provider/model with a model from `vllora list` "
                                  f"(providers: {', '.join(catalog.providers)})")
    state: dict[str, int] = {}

    def visit(name: str, trail: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = " -> ".join([*trail[trail.index(name):], name])
            raise ConfigError(f"{at(f'/routes/{trail[0]}')}: routes form a cycle: {cycle}")
        state[name] = 1
        for target in routes[name].targets:
            if target in routes:
                visit(target, [*trail, name])
        state[name] = 2

    for name in routes:
        visit(name, [])
