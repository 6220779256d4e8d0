"""The Litestar server. Public: ``create_app(settings, catalog)``."""

from vllora.server.app import create_app

__all__ = ["create_app"]
