"""Build ``Settings`` from the catalog's provider files, an optional ``--config`` YAML file and the environment.

Precedence for each provider value: the config file, then the environment variables named in the provider
file, then the provider file's defaults. ``${VAR}`` and ``${VAR:-default}`` in the config file are replaced
from the environment; an unset ``${VAR}`` without a default is a ``ConfigError`` naming it and its line.
Config problems are reported as ``file:LINE:COL: message`` (schema-checked like the registry).

A substituted value is a string (``VLLORA_API_KEY=123456789`` stays the string it is); only where the
schema wants a number (``timeout_s: ${T:-7}``) is a whole-value substitution read as one. No error ever
prints a substituted value: a problem with one names the variable instead. A variable that several provider
files name (which ``vllora validate`` refuses) counts only for the provider it belongs to.
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


def _protect(text: str, path: Path, environ: Mapping[str, str]) -> tuple[str, list[str], list[str]]:
    """Replace each ``${VAR}`` / ``${VAR:-default}`` by a YAML-safe placeholder; return the values in order.

    Interpolating before parsing lets ``{api_key: ${KEY:-}}`` work inside flow mappings (as DESIGN.md writes
    it) while a value with YAML syntax in it (``#``, ``: ``, braces) can never change the file's structure.
    """
    values: list[str] = []
    names: list[str] = []

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
        names.append(name)
        return _PLACEHOLDER.format(len(values) - 1)

    return _VAR.sub(repl, text), values, names


def _restore(value: Any, values: list[str], names: list[str], schema: Any, pointer: str,
             substituted: dict[str, list[str]]) -> Any:
    """Put the values back; ``substituted`` collects ``pointer -> [variable names]`` for error messages."""
    from vllora.catalog.loader import escape

    if isinstance(value, dict):
        return {k: _restore(v, values, names, _sub_schema(schema, k), f"{pointer}/{escape(k)}", substituted)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_restore(v, values, names, _sub_schema(schema, i), f"{pointer}/{i}", substituted)
                for i, v in enumerate(value)]
    if not isinstance(value, str) or "__vllora_var_" not in value:
        return value
    substituted[pointer] = [names[int(m.group(1))] for m in _PLACEHOLDER_RE.finditer(value)]
    whole = _PLACEHOLDER_RE.fullmatch(value)
    if whole is not None:  # the whole scalar came from a variable: a number only where the schema wants one
        return _as_schema_number(values[int(whole.group(1))], schema)
    return _PLACEHOLDER_RE.sub(lambda m: values[int(m.group(1))], value)


def _sub_schema(schema: Any, key: str | int) -> Any:
    if not isinstance(schema, dict):
        return None
    if isinstance(key, int):
        return schema.get("items")
    props = schema.get("properties") or {}
    if key in props:
        return props[key]
    extra = schema.get("additionalProperties")
    return extra if isinstance(extra, dict) else None


def _as_schema_number(raw: str, schema: Any) -> Any:
    kind = schema.get("type") if isinstance(schema, dict) else None
    text = raw.strip()
    if kind == "integer" and re.fullmatch(r"[+-]?[0-9]+", text):
        return int(text)
    if kind == "number" and re.fullmatch(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?", text):
        return float(text) if any(c in text for c in ".eE") else int(text)
    return raw


def _masked(problem: Any, substituted: Mapping[str, list[str]]) -> str:
    """A schema problem about a substituted value, naming the variable(s) and never the value."""
    pointer = problem.pointer
    while pointer not in substituted and pointer:
        pointer = pointer.rsplit("/", 1)[0]
    if pointer not in substituted:
        return str(problem.format_text())
    variables = " and ".join(f"${{{n}}}" for n in dict.fromkeys(substituted[pointer]))
    return (f"{problem.path}:{problem.line}:{problem.col}: {problem.pointer}: the value of {variables} is not "
            f"valid here ({_value_free(problem.message)}); fix the environment variable")


def _value_free(message: str) -> str:
    """The kind of a schema problem, without the value it quotes."""
    for start, kind in (("expected ", None), ("must be ", None), ("unknown value", "not one of the allowed values"),
                        ("is longer", "too long"), ("must not be empty", "empty")):
        if message.startswith(start):
            return kind or message.split(",")[0].split(" (got")[0]
    if " is not " in message:
        return "not " + message.rsplit(" is not ", 1)[1]
    return "see schemas/config.schema.json"


def read_config(path: Path, environ: Mapping[str, str]) -> tuple[dict[str, Any], Any]:
    """Parse, interpolate and schema-check a config file. Errors name the file, line and column."""
    from vllora.catalog.build import _validator, schemas_dir
    from vllora.catalog.loader import FileRefused, load_document, read_yaml_file
    from vllora.catalog.rules import schema_problems

    try:
        text = read_yaml_file(path, allow_symlink=True)
    except FileRefused as exc:
        raise ConfigError(f"{path}: the config file {exc.reason}") from None
    protected, values, names = _protect(text, path, environ)
    doc = load_document(protected, str(path))
    if doc.problems:
        raise ConfigError(doc.problems[0].format_text())
    if doc.value is None or doc.value == {}:
        return {}, doc
    if not isinstance(doc.value, dict):
        raise ConfigError(f"{path}:1:1: the config file must be a YAML mapping (providers:, routes:, server:)")
    validator = _validator(schemas_dir() / "config.schema.json")
    substituted = doc.substituted
    doc.value = _restore(doc.value, values, names, validator.schema, "", substituted)
    problems = schema_problems(doc, validator)
    if problems:
        raise ConfigError("\n".join(_masked(p, substituted) for p in problems))
    return doc.value, doc


def _provider(entry: Mapping[str, Any], conf: Mapping[str, Any], environ: Mapping[str, str]) -> ProviderSettings:
    """One provider's settings; which values are credentials is declared by its adapter (``CREDENTIALS``)."""
    from vllora.providers import credential_spec

    env = entry.get("env") or {}
    adapter = entry["adapter"]
    spec = credential_spec(adapter)

    def value(name: str) -> Any:
        return conf.get(name) or _first_env(env.get(name), environ)

    credentials = {name: str(v) for name in spec.fields if (v := value(name))}
    options = {name: v for name in spec.options if (v := value(name))}
    region = value("region") or entry.get("default_region") or "us-east-1"
    if "region" in env or "default_region" in entry:
        options.setdefault("region", region)
    base_url = value("base_url") or entry["base_url"]
    control = value("control_url") or entry.get("control_url")
    aws = None
    if credentials.get("access_key_id") and credentials.get("secret_access_key"):
        aws = AwsCredentials(credentials["access_key_id"], credentials["secret_access_key"],
                             credentials.get("session_token") or None, region)
    first = spec.any_of[0] if spec.any_of else spec.fields
    credential_env = tuple(n for name in first for n in _names(env.get(name)))
    if "{" in str(base_url).replace("{region}", ""):
        credential_env += _names(env.get("base_url"))
    headers = {**(entry.get("headers") or {}), **(conf.get("headers") or {})}
    return ProviderSettings(
        id=entry["id"],
        adapter=adapter,
        base_url=str(base_url).replace("{region}", region).rstrip("/"),
        api_key=credentials.get("api_key"),
        aws=aws,
        control_url=str(control).replace("{region}", region).rstrip("/") if control else None,
        timeout_s=float(conf.get("timeout_s", 60.0)),
        connect_timeout_s=float(conf.get("connect_timeout_s", 10.0)),
        max_retries=int(conf.get("max_retries", 2)),
        headers=tuple(sorted(headers.items())),
        credential_env=credential_env,
        needs_credentials=any(name in env for name in spec.names()),
        credentials=credentials,
        credential_sets=spec.any_of,
        options=options,
        token_source=spec.token_source,
        region=region,
        native_surfaces=tuple(conf["native_surfaces"] if "native_surfaces" in conf else entry.get("native_surfaces") or ()),
        stream_usage=bool(entry.get("stream_usage", False)),
    )


def _own_environ(pid: str, catalog: Catalog, environ: Mapping[str, str]) -> Mapping[str, str]:
    """The environment as provider ``pid`` may read it: a variable that other provider files also name
    (``vllora validate`` refuses that) counts only for the provider it belongs to, so a registry file that
    names ``OPENAI_API_KEY`` never receives the OpenAI key."""
    from vllora.catalog.env_names import env_entries, env_owner

    users: dict[str, set[str]] = {}
    for other, entry in catalog.providers.items():
        for variable, _ in env_entries(entry.get("env")):
            users.setdefault(variable, set()).add(other)
    hidden = {v for v, who in users.items() if pid in who and len(who) > 1 and env_owner(v, who) != pid}
    return {k: v for k, v in environ.items() if k not in hidden} if hidden else environ


def load_settings(catalog: Catalog, config_path: Path | None, environ: Mapping[str, str]) -> Settings:
    conf, doc = read_config(config_path, environ) if config_path is not None else ({}, None)
    where = str(config_path) if config_path else "config"
    conf_providers: dict[str, Any] = conf.get("providers") or {}
    unknown = [p for p in conf_providers if p not in catalog.providers]
    if unknown:
        raise ConfigError(f"{where}: unknown provider(s) under providers: {', '.join(unknown)}; "
                          f"known: {', '.join(catalog.providers)}")
    providers = {pid: _provider(entry, conf_providers.get(pid) or {}, _own_environ(pid, catalog, environ))
                 for pid, entry in catalog.providers.items()}
    order = tuple(conf_providers)  # only the config orders providers; ties are the catalog's (makers first)

    routes: dict[str, RouteSettings] = {}
    for name, route in (conf.get("routes") or {}).items():
        routes[name] = RouteSettings(name, tuple(route["targets"]), route.get("strategy", "fallback"))
    check_routes(routes, catalog, doc, where)

    server_conf = conf.get("server") or {}
    api_key = server_conf.get("api_key")
    if api_key is None:
        api_key = environ.get("VLLORA_API_KEY")
    if api_key is not None and not str(api_key).strip():
        raise ConfigError(f"{where}: the gateway key is set but empty (VLLORA_API_KEY or server.api_key); set a "
                          "non-empty key, or unset it to run without one")
    server = ServerSettings(
        host=server_conf.get("host", "127.0.0.1"),
        port=int(server_conf.get("port", 9090)),
        max_body_mb=float(server_conf.get("max_body_mb", 32)),
        api_key=api_key or None,
        workers=int(server_conf.get("workers", 1)),
        upstream_max_body_mb=float(server_conf.get("upstream_max_body_mb", 64)),
        allowed_hosts=tuple(server_conf.get("allowed_hosts") or ()),
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
    from vllora.catalog.loader import escape

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
                pointer = f"/routes/{escape(name)}/targets/{i}"
                shown = repr(target)
                if doc is not None and pointer in doc.substituted:  # never print a value from the environment
                    shown = "from " + " and ".join(f"${{{v}}}" for v in doc.substituted[pointer])
                raise ConfigError(f"{at(pointer)}: route {name!r} names unknown model "
                                  f"{shown}; use provider/model with a model from `vllora list` "
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
