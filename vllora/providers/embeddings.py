"""OpenAI embeddings shapes shared by translating adapters: read ``input``, write ``data`` (float or base64).

The official ``openai`` SDK asks for ``encoding_format: "base64"`` by default and decodes little-endian
float32, so base64 here is exactly ``base64(struct.pack("<%df", *vector))``.
"""

from __future__ import annotations

import base64
import struct
from typing import Any

from vllora.errors import InvalidRequest

JSON = dict[str, Any]


def text_inputs(body: JSON) -> tuple[list[str], bool]:
    """The input texts and whether a single string was sent. Token-id inputs cannot be translated."""
    value = body.get("input")
    if isinstance(value, str):
        if not value:
            raise InvalidRequest("'input' must not be empty", param="input")
        return [value], True
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        for i, v in enumerate(value):
            if not v:
                raise InvalidRequest(f"input[{i}] must not be empty", param=f"input[{i}]")
        return list(value), False
    if isinstance(value, list) and value and all(isinstance(v, int | list) for v in value):
        raise InvalidRequest("token-id inputs are only supported by OpenAI-compatible providers; send text", param="input")
    raise InvalidRequest("'input' must be a string or a non-empty list of strings", param="input")


def encode_vector(vector: list[float], encoding: Any) -> list[float] | str:
    if encoding == "base64":
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
    return vector


def encode_vectors(vectors: list[list[float]], body: JSON) -> list[JSON]:
    encoding = body.get("encoding_format")
    if encoding not in (None, "float", "base64"):
        raise InvalidRequest("'encoding_format' must be float or base64", param="encoding_format")
    return [{"object": "embedding", "index": i, "embedding": encode_vector(v, encoding)} for i, v in enumerate(vectors)]
