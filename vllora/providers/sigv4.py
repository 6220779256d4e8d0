"""AWS Signature Version 4 with the standard library (what botocore's ``SigV4Auth`` does; tested against it).

The canonical URI is the request path percent-encoded *again* (non-S3 services double-encode, so a model id's
``%3A`` is signed as ``%253A``); every header we send is signed, plus ``host``; the payload hash covers the
exact body bytes sent.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import quote, unquote, urlsplit

from vllora.settings import AwsCredentials

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED = frozenset({"connection", "expect", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
                      "trailer", "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id", "authorization"})


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def _canonical_query(query: str) -> str:
    if not query:
        return ""
    pairs = []
    for item in query.split("&"):
        key, _, value = item.partition("=")
        pairs.append((quote(unquote(key), safe="-_.~"), quote(unquote(value), safe="-_.~")))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def sign(method: str, url: str, headers: Mapping[str, str], body: bytes, creds: AwsCredentials, region: str,
         service: str = "bedrock", now: datetime | None = None) -> dict[str, str]:
    """The headers to send: the given ones plus ``x-amz-date``, the security token and ``authorization``."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    amz_date = moment.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    parts = urlsplit(url)
    out = {k.lower(): v for k, v in headers.items() if k.lower() != "authorization"}
    out["x-amz-date"] = amz_date
    if creds.session_token:
        out["x-amz-security-token"] = creds.session_token
    host = parts.hostname or ""
    default_port = {"http": 80, "https": 443}.get(parts.scheme)
    if parts.port and parts.port != default_port:
        host = f"{host}:{parts.port}"
    signed = {k: " ".join(v.strip().split()) for k, v in out.items() if k not in UNSIGNED}
    signed["host"] = host
    names = sorted(signed)
    canonical = "\n".join([
        method.upper(),
        quote(parts.path or "/", safe="/~"),
        _canonical_query(parts.query),
        "".join(f"{n}:{signed[n]}\n" for n in names),
        ";".join(names),
        hashlib.sha256(body).hexdigest(),
    ])
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join([ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(_hmac(f"AWS4{creds.secret_access_key}".encode(), day), region), service), "aws4_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    out["authorization"] = (f"{ALGORITHM} Credential={creds.access_key_id}/{scope}, "
                            f"SignedHeaders={';'.join(names)}, Signature={signature}")
    return out
