from tests.e2e.conftest import client, gateway, upstream  # noqa: F401  (the same fake providers and gateway)
