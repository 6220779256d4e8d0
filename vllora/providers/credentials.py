"""What counts as a credential for one protocol: each adapter module declares ``CREDENTIALS = CredentialSpec(...)``.

``vllora.config`` reads the spec generically (no branch on a protocol's name): every name in ``fields`` is read
from the config file, then from the environment variables the provider file's ``env:`` names for it, and kept as a
secret in ``ProviderSettings.credentials``; every name in ``options`` is read the same way into
``ProviderSettings.options`` (not secret: a project id, an API version, a deployment map). A provider is
configured when all the names of at least one tuple in ``any_of`` have a value. ``token_source`` names an
``module:factory`` that turns the settings into OAuth2 access tokens at request time (outside the adapter,
which stays pure and finds the token in ``Target.auth``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CredentialSpec:
    fields: tuple[str, ...] = ("api_key",)
    any_of: tuple[tuple[str, ...], ...] = (("api_key",),)
    options: tuple[str, ...] = ()
    token_source: str | None = None

    def names(self) -> tuple[str, ...]:
        """Every credential or option name the spec mentions, in declaration order."""
        seen: dict[str, None] = dict.fromkeys(self.fields)
        for group in self.any_of:
            seen.update(dict.fromkeys(group))
        seen.update(dict.fromkeys(self.options))
        return tuple(seen)


API_KEY = CredentialSpec()
