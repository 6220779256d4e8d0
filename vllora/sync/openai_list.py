"""OpenAI ``GET /models`` and every OpenAI-compatible provider's (ids only, sometimes a bit more).

The OpenAI list mixes chat, embedding, image, audio and moderation models and gives no capabilities, so
the capability is inferred from the id by generic keywords (documented in docs/sync.md). A ``type`` or a
context-length field, which some compatible providers add (Together, Groq, OpenRouter), is used when present.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from vllora.settings import ProviderSettings
from vllora.sync.remote import RemoteModel, date_of, get_json

_SKIP = re.compile(r"whisper|tts|transcribe|audio|realtime|moderation|search|computer-use|sora|davinci|babbage|"
                   r"rerank|guard|^ft:", re.IGNORECASE)
_EMBED = re.compile(r"embed", re.IGNORECASE)
_IMAGE = re.compile(r"dall-e|gpt-image|imagen|flux|stable-diffusion|sdxl|image-gen", re.IGNORECASE)
_TYPES = {"chat": "chat", "language": "chat", "code": "chat", "embedding": "embedding", "embeddings": "embedding",
          "image": "image_generation"}


def _capability(entry: dict[str, Any]) -> tuple[str | None, str | None]:
    mid = str(entry["id"])
    kind = entry.get("type")
    if isinstance(kind, str) and kind in _TYPES:
        return _TYPES[kind], None
    if isinstance(kind, str) and kind not in ("model",):
        return None, f"type {kind!r} is not served by vllora"
    if _SKIP.search(mid):
        return None, "not a chat, embedding or image-generation model"
    if _EMBED.search(mid):
        return "embedding", None
    if _IMAGE.search(mid):
        return "image_generation", None
    return "chat", None


def list_models(client: httpx.Client, provider: ProviderSettings) -> list[RemoteModel]:
    headers = {"accept": "application/json", **dict(provider.headers)}
    if provider.api_key:
        headers["authorization"] = f"Bearer {provider.api_key}"
    data = get_json(client, provider.base_url.rstrip("/") + "/models", headers)
    entries = data.get("data") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise ValueError("expected {'data': [...]} from /models")
    out = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            continue
        capability, skip = _capability(entry)
        context = entry.get("context_window") or entry.get("context_length") or entry.get("max_context_length")
        out.append(RemoteModel(
            id=entry["id"],
            name=entry.get("display_name") or entry.get("name") or None,
            capabilities=(capability,) if capability else (),
            context_window=context if isinstance(context, int) and context > 0 else None,
            release_date=date_of(entry.get("created")),
            skip_reason=skip,
        ))
    return out
