"""The whole vllora exception tree, in one place.

Every error the gateway can answer with, or the CLI can print, is one of these. Foreign errors (httpx,
aiohttp, yaml, jsonschema, a provider's error body) are mapped into this tree at exactly one boundary each:
the upstream client maps transport errors, each adapter maps its provider's error bodies, and the server's
single exception handler turns any ``VlloraError`` into OpenAI's error shape::

    VlloraError                         status  type
    ├── CatalogError                      500   catalog_error        registry/artifact problems
    │   └── RegistryInvalid                                          carries every Problem found
    ├── ConfigError                       500   config_error         bad --config file, unset ${VAR}
    ├── StoreError                        503   store_error          the database is down, full or refused SQL
    ├── ReferenceInvalid                  500   reference_error      `vllora audit`: a reference file of the wrong shape
    ├── RequestError                      400   invalid_request_error  the client sent something wrong
    │   ├── InvalidRequest                400                        malformed JSON, missing/invalid field
    │   ├── CapabilityNotSupported        400                        e.g. embeddings on a chat-only model
    │   ├── AuthenticationError           401   authentication_error   missing/wrong gateway bearer token
    │   ├── ModelNotFound                 404   not_found_error
    │   └── PayloadTooLarge               413                        body over server.max_body_mb
    ├── ProviderNotConfigured             401   authentication_error   no credentials: names the env var
    └── UpstreamError                     502   upstream_error       anything that went wrong upstream
        ├── UpstreamStatusError           (upstream's)               provider answered 4xx/5xx
        ├── UpstreamUnreachable           502                        refused, reset, DNS
        ├── UpstreamTimeout               504   timeout_error
        └── UpstreamProtocolError         502                        garbage, undecodable body or frame

Messages never contain secrets: callers pass the *name* of an env var, never its value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class VlloraError(Exception):
    """Base class. ``status`` is the HTTP status the gateway answers with."""

    status: int = 500
    type: str = "server_error"
    default_code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code if code is not None else self.default_code
        if status is not None:
            self.status = status

    @property
    def retryable(self) -> bool:
        """True when trying again (or another target) may succeed: 429, 5xx, connection errors, timeouts."""
        return False

    @property
    def retry_after(self) -> float | None:
        """Seconds the upstream asked us to wait, when it said so."""
        return None

    def to_openai(self) -> dict[str, Any]:
        """OpenAI's error object: ``{"error": {"message", "type", "param", "code"}}``."""
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


# --- registry and configuration -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    """One validation problem, printed as ``path:LINE:COL: /pointer: message``."""

    path: str
    line: int
    col: int
    pointer: str
    message: str
    check: str = "schema"

    def format_text(self) -> str:
        """One line: control characters in the file name and pointer are shown escaped (``\\n``)."""
        return f"{_printable(self.path)}:{self.line}:{self.col}: {_printable(self.pointer or '/')}: {self.message}"

    def format_github(self) -> str:
        """A workflow command: ``%``, CR and LF escaped in the message, and ``:`` and ``,`` too in properties,
        so a file name or key with a newline cannot inject a command of its own."""
        msg = _github_data(f"{self.pointer or '/'}: {self.message}")
        return f"::error file={_github_property(self.path)},line={self.line},col={self.col}::{msg}"


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _github_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _github_property(text: str) -> str:
    return _github_data(text).replace(":", "%3A").replace(",", "%2C")


class CatalogError(VlloraError):
    type = "catalog_error"


class RegistryInvalid(CatalogError):
    def __init__(self, problems: list[Problem]) -> None:
        n = len(problems)
        super().__init__(f"the registry has {n} problem{'s' if n != 1 else ''}")
        self.problems = problems


class ConfigError(VlloraError):
    """A bad ``--config`` file or an unset ``${VAR}``. Message starts with ``file:line:col:`` when known."""

    type = "config_error"


class StoreError(VlloraError):
    """The gateway's database (``vllora.store``) failed. The URL in the message never carries credentials."""

    status = 503
    type = "store_error"


class ReferenceInvalid(VlloraError):
    """``vllora audit`` read a reference (file or URL) that is not JSON of the expected format, or its id rules are bad."""

    type = "reference_error"


# --- the client's request -------------------------------------------------------------------------------


class RequestError(VlloraError):
    status = 400
    type = "invalid_request_error"


class InvalidRequest(RequestError):
    pass


class CapabilityNotSupported(RequestError):
    default_code = "model_not_supported"


class AuthenticationError(RequestError):
    status = 401
    type = "authentication_error"
    default_code = "invalid_api_key"


class ModelNotFound(RequestError):
    status = 404
    type = "not_found_error"
    default_code = "model_not_found"


class PayloadTooLarge(RequestError):
    status = 413
    default_code = "request_too_large"


class ProviderNotConfigured(VlloraError):
    """The provider serving the model has no credentials. The message names the env var to set."""

    status = 401
    type = "authentication_error"
    default_code = "provider_not_configured"


# --- upstream --------------------------------------------------------------------------------------------


class UpstreamError(VlloraError):
    status = 502
    type = "upstream_error"

    @property
    def retryable(self) -> bool:
        return True


class UpstreamStatusError(UpstreamError):
    """The provider answered with an error status; ``status`` is passed on to the client.

    ``code`` carries the provider's own error type (``overloaded_error``, ``ThrottlingException``, ...).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        type: str | None = None,
        code: str | None = None,
        param: str | None = None,
        retry_after: float | None = None,
        provider: str | None = None,
    ) -> None:
        if not 400 <= status <= 599:  # e.g. 999, or a stream error event's code 200: not an HTTP error status
            status = 502
        super().__init__(message, param=param, code=code, status=status)
        self.type = type or _type_for_status(status)
        self._retry_after = retry_after
        self.provider = provider

    @property
    def retryable(self) -> bool:
        return self.status == 429 or self.status >= 500

    @property
    def retry_after(self) -> float | None:
        return self._retry_after


class UpstreamUnreachable(UpstreamError):
    default_code = "upstream_unreachable"


class UpstreamTimeout(UpstreamError):
    status = 504
    type = "timeout_error"
    default_code = "upstream_timeout"


class UpstreamProtocolError(UpstreamError):
    default_code = "upstream_bad_response"

    @property
    def retryable(self) -> bool:
        return False


def _type_for_status(status: int) -> str:
    return {
        400: "invalid_request_error",
        401: "authentication_error",
        403: "permission_error",
        404: "not_found_error",
        408: "timeout_error",
        409: "invalid_request_error",
        413: "invalid_request_error",
        422: "invalid_request_error",
        429: "rate_limit_error",
    }.get(status, "api_error" if status >= 500 else "invalid_request_error")
