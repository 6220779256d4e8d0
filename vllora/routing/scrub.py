"""Remove configured credentials from upstream error messages before they reach a client or the log.

Some providers echo the key they were sent, whole or masked (``Incorrect API key provided: sk-proj-****abcd``).
``Scrubber`` replaces every configured secret (provider keys, AWS key id / secret / session token, the gateway
key, static provider headers named like a credential) and, for partial echoes, every word that shares 8 or
more consecutive characters with one of them.
Secrets shorter than 8 characters are not real credentials and are left alone (they would match ordinary words).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from vllora.errors import VlloraError
from vllora.settings import Settings

MIN_SECRET = 8
REDACTED = "[redacted]"
_SECRET_HEADER = re.compile(r"auth|key|token|secret|password", re.IGNORECASE)  # static headers that carry credentials
_WORD = re.compile(r"[^\s'\"`,;()<>\[\]{}]+")


class Scrubber:
    def __init__(self, secrets: Iterable[str | None]) -> None:
        self.secrets = sorted({s for s in secrets if s and len(s) >= MIN_SECRET}, key=len, reverse=True)
        self.windows = frozenset(s[i:i + MIN_SECRET] for s in self.secrets for i in range(len(s) - MIN_SECRET + 1))

    @classmethod
    def from_settings(cls, settings: Settings) -> Scrubber:
        values: list[str | None] = [settings.server.api_key]
        for provider in settings.providers.values():
            values.append(provider.api_key)
            values += [value for name, value in provider.headers if _SECRET_HEADER.search(name)]
            if provider.aws is not None:
                values += [provider.aws.access_key_id, provider.aws.secret_access_key, provider.aws.session_token]
        return cls(values)

    def text(self, text: str) -> str:
        if not self.secrets or len(text) < MIN_SECRET:
            return text
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return _WORD.sub(self._word, text)

    def _word(self, match: re.Match[str]) -> str:
        word = match.group()
        if len(word) >= MIN_SECRET and any(word[i:i + MIN_SECRET] in self.windows
                                           for i in range(len(word) - MIN_SECRET + 1)):
            return REDACTED
        return word

    def error(self, exc: VlloraError) -> VlloraError:
        """The same error with its message, code and param scrubbed (in place; returned for convenience)."""
        if self.secrets:
            exc.message = self.text(exc.message)
            exc.args = (exc.message,)
            if isinstance(exc.code, str):
                exc.code = self.text(exc.code)
            if isinstance(exc.param, str):
                exc.param = self.text(exc.param)
        return exc
