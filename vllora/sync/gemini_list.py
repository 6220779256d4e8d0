"""Gemini ``GET /v1beta/models``: ``pageToken`` pagination; limits and generation methods."""

from __future__ import annotations

from typing import Any

import httpx

from vllora.settings import ProviderSettings
from vllora.sync.remote import RemoteModel, get_json, pages


def _capabilities(methods: list[str], model_id: str) -> tuple[str, ...]:
    caps = []
    if "generateContent" in methods:
        caps.append("chat")
    if "embedContent" in methods or "batchEmbedContents" in methods:
        caps.append("embedding")
    if "predict" in methods and "imagen" in model_id:
        caps.append("image_generation")
    return tuple(caps)


def list_models(client: httpx.Client, provider: ProviderSettings) -> list[RemoteModel]:
    headers = {"x-goog-api-key": provider.api_key or "", "accept": "application/json"}
    url = provider.base_url.rstrip("/") + "/v1beta/models"

    def fetch(cursor: str | None) -> tuple[Any, str | None]:
        params: dict[str, Any] = {"pageSize": 1000}
        if cursor:
            params["pageToken"] = cursor
        page = get_json(client, url, headers, params)
        return page, page.get("nextPageToken") or None

    out: list[RemoteModel] = []
    for page in pages(fetch):
        for entry in page.get("models") or []:
            name = str(entry.get("name", ""))
            model_id = name.removeprefix("models/")
            if not model_id:
                continue
            caps = _capabilities(list(entry.get("supportedGenerationMethods") or []), model_id)
            features = ["streaming"] if "chat" in caps else []
            if entry.get("thinking"):
                features.append("reasoning")
            limit_in, limit_out = entry.get("inputTokenLimit"), entry.get("outputTokenLimit")
            out.append(RemoteModel(
                id=model_id,
                name=entry.get("displayName"),
                capabilities=caps,
                features=tuple(features),
                context_window=limit_in if isinstance(limit_in, int) and limit_in > 0 else None,
                max_output_tokens=limit_out if isinstance(limit_out, int) and limit_out > 0 else None,
                skip_reason=None if caps else "no generateContent, embedContent or Imagen predict method",
            ))
    return out
