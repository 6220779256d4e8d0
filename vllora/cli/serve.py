"""``vllora serve``: run the gateway (Models API + OpenAI-compatible routing) with uvicorn."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click


@click.command("serve")
@click.option("--host", default=None, help="Interface to bind (default 127.0.0.1, or server.host).")
@click.option("--port", type=int, default=None, help="Port (default 9090, or server.port).")
@click.option("--config", "config", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="YAML config: providers, routes, server (see docs/configuration.md).")
@click.option("--registry", "registry", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Serve this registry directory, compiled at start (for people editing YAML).")
@click.option("--workers", type=int, default=None, help="Worker processes (default 1, or server.workers).")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info",
              show_default=True, help="info logs one line per request.")
def command(host: str | None, port: int | None, config: Path | None, registry: Path | None, workers: int | None,
            log_level: str) -> None:
    """Serve the Models API and route OpenAI-style requests to every provider.

    Credentials come from the environment as the official SDKs name them (OPENAI_API_KEY,
    ANTHROPIC_API_KEY, GEMINI_API_KEY, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_REGION, ...)
    or from --config. Set VLLORA_API_KEY to require a bearer token on every route but /health.

    \b
    Examples:
      vllora serve                                  # http://127.0.0.1:9090
      vllora serve --port 8080 --config vllora.yaml
      vllora serve --registry registry/             # serve YAML you are editing
      curl http://localhost:9090/api/models?capability=chat
    """
    from vllora.errors import RegistryInvalid, VlloraError
    from vllora.server.asgi import build, configure_logging

    if config is not None and not config.is_file():
        _fail(f"config file not found: {config}")
    if registry is not None and not registry.is_dir():
        _fail(f"registry directory not found: {registry}")
    configure_logging(log_level)
    try:
        app = build(config, registry, host)
    except RegistryInvalid as exc:
        for p in exc.problems:
            click.echo(p.format_text(), err=True)
        _fail(exc.message)
    except VlloraError as exc:
        _fail(exc.message)
    settings = app.state.settings
    host = host or settings.server.host
    port = port or settings.server.port
    workers = workers or settings.server.workers
    if workers > 1 and not settings.data.redis_url:
        _refuse_unshared_limits(settings, workers)
    views = app.state.views
    ready = [p for p, s in settings.providers.items() if s.configured]
    missing = [p for p, s in settings.providers.items() if not s.configured]
    click.echo(
        f"vllora serving {views.model_count} models from {len(settings.providers)} providers"
        f"{f' and {views.route_count} routes' if views.route_count else ''} on http://{host}:{port}\n"
        f"  credentials: {', '.join(ready) or 'none'}"
        + (f" | not configured: {', '.join(missing)}" if missing else ""),
        err=True,
    )
    if not settings.server.api_key and not _loopback(host):
        click.echo(f"warning: binding {host} without VLLORA_API_KEY: anyone who can reach this address can use "
                   "every configured provider credential and run up the bill; set VLLORA_API_KEY", err=True)
    if not _loopback(host) and "*" not in settings.server.allowed_hosts:
        from vllora.server.middleware import allowed_hosts

        names = ", ".join(sorted(allowed_hosts(settings.server) or ()))
        click.echo(f"note: requests must name one of these hosts in Host: {names}; list the names clients use in "
                   "server.allowed_hosts (or [\"*\"] for any)", err=True)
    import uvicorn

    from vllora.server.protocol import HeaderDeadlineProtocol

    options = {"host": host, "port": port, "log_level": "warning", "access_log": False, "loop": "auto",
               "http": HeaderDeadlineProtocol, "lifespan": "on", "timeout_graceful_shutdown": 30,
               # per-request work nobody asked for: X-Forwarded-* rewriting, Server and Date headers
               "proxy_headers": False, "server_header": False, "date_header": False}
    if workers > 1:
        os.environ["VLLORA_CONFIG"] = str(config.resolve()) if config else ""
        os.environ["VLLORA_REGISTRY"] = str(registry.resolve()) if registry else ""
        os.environ["VLLORA_HOST"] = host
        os.environ["VLLORA_LOG_LEVEL"] = log_level  # each worker sets up logging (and so the access log) the same
        import shutil
        import tempfile

        # Prometheus multiprocess mode: every worker writes its values here and /metrics sums them. Fresh per
        # start (stale files from an earlier run would add old counts), removed at exit.
        metrics_dir = tempfile.mkdtemp(prefix="vllora-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        try:
            uvicorn.run("vllora.server.asgi:app_factory", factory=True, workers=workers, **options)  # type: ignore[arg-type]
        finally:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    else:
        from vllora.server.asgi import settle_heap

        settle_heap()
        server = _graceful_server_class()(uvicorn.Config(app, **options))  # type: ignore[arg-type]
        server.run()


def _graceful_server_class() -> type:
    import contextlib
    import signal
    import threading
    from collections.abc import Iterator

    import uvicorn

    class GracefulServer(uvicorn.Server):
        """SIGTERM/SIGINT: stop accepting, let in-flight requests finish (up to 30 s), then exit 0.

        uvicorn re-raises the signal after shutting down, which makes the exit status -15; a gateway that
        shut down cleanly should report success to its supervisor.
        """

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    return GracefulServer


def _refuse_unshared_limits(settings: Any, workers: int) -> None:
    """Several workers without Redis would each count a key's limits on their own: N times the limit."""
    import time

    from vllora.errors import StoreError
    from vllora.keys.repo import any_limited
    from vllora.store import open_store

    data = settings.data
    store = open_store(data.database_url, data_dir=Path(data.data_dir) if data.data_dir else None)
    try:
        limited = store.run_sync(lambda conn: any_limited(conn, time.time()))
    except StoreError:
        limited = False
    finally:
        store.close()
    if limited:
        _fail(f"--workers {workers} with keys that have budgets or rate limits needs shared counters: set redis_url "
              "(or VLLORA_REDIS_URL), or run one worker; each worker would otherwise allow the full limit on its own")
def _loopback(host: str) -> bool:
    import ipaddress

    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)
