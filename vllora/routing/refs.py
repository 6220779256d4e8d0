"""Model references as clients send them: what is refused, what goes upstream, how it appears in a header.

``check_ref`` refuses references no provider names a model by (too long, control characters, URL syntax);
``upstream_id`` picks the id sent upstream for a catalog model (Bedrock inference profiles are registry data:
``inference_profiles``); ``header_value`` makes an id safe for ``x-vllora-target``.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import Any

from vllora.errors import InvalidRequest

MAX_REF_LENGTH = 256
_UNSAFE_REF = re.compile(r"[\x00-\x1f\x7f-\x9f?#]")
_HEADER_SAFE = "".join(c for c in string.printable if c not in string.whitespace and c != "%")


def check_ref(ref: str) -> None:
    """Refuse model references no provider names a model by, before any lookup or upstream URL sees them.

    Over ``MAX_REF_LENGTH`` characters (the "did you mean" search is quadratic in the length), control
    characters, ``?`` / ``#`` (a query or fragment in an upstream URL) and ``.`` / ``..`` path segments.
    """
    if len(ref) > MAX_REF_LENGTH:
        raise InvalidRequest(f"'model' is longer than {MAX_REF_LENGTH} characters", param="model")
    bad = _UNSAFE_REF.search(ref)
    if bad is not None:
        what = repr(bad.group()) if bad.group() in "?#" else f"control character U+{ord(bad.group()):04X}"
        raise InvalidRequest(f"'model' must not contain {what}; send a model id from GET /v1/models", param="model")
    if any(segment in (".", "..") for segment in ref.split("/")):
        raise InvalidRequest("'model' must not contain '.' or '..' path segments", param="model")


REGION_GEOS = (("us-gov-", "us-gov"), ("us-", "us"), ("eu-", "eu"), ("ap-", "apac"))


def upstream_id(ref: str, info: Mapping[str, Any], region: str | None) -> str:
    """The id to send upstream for a catalog model the client named by ``ref``.

    A model with inference profiles (registry ``inference_profiles``): the profile the client asked for, as
    asked; a bare id of a model whose on-demand calls need a profile gets the profile of the configured
    region's geography (us-*, eu-*, ap-* -> us., eu., apac.), else ``global.`` when offered. Anything else: the
    model's own id (an alias is resolved).
    """
    profiles = info.get("inference_profiles")
    if not profiles:
        return str(info["id"])
    prefix = f"{info['provider']}/"
    asked = ref[len(prefix):] if ref.startswith(prefix) else ref
    ids = profiles["ids"]
    if asked in ids:
        return asked
    if not profiles.get("required"):
        return str(info["id"])
    geo = next((g for start, g in REGION_GEOS if (region or "").startswith(start)), None)
    for candidate in (geo, "global"):
        if candidate and f"{candidate}.{info['id']}" in ids:
            return f"{candidate}.{info['id']}"
    return str(info["id"])


def header_value(text: str) -> str:
    """``text`` as an HTTP header value: anything but printable ASCII percent-encoded (ids may be non-ASCII)."""
    from urllib.parse import quote

    if text.isascii() and text.isprintable() and " " not in text and "%" not in text:  # the usual case, in C
        return text
    return quote(text, safe=_HEADER_SAFE)
