"""vllora: a model registry anyone can extend by pull request, and a fast OpenAI-compatible gateway.

Public surface (everything else is private and may change):

- ``vllora.catalog.Catalog``: the compiled model catalog (``Catalog.load()``).
- ``vllora.server.create_app(settings, catalog)``: the Litestar app factory.
- ``vllora.errors``: the exception tree.
"""

__version__ = "0.1.0"
