"""Anthropic ``GET /v1/models``: cursor pagination with ``after_id`` / ``has_more``."""

from __future__ import annotations

from typing import Any

import httpx

from vllora.settings import ProviderSettings
from vllora.sync.remote import RemoteModel, date_of, get_json, pages


def _supported(caps: dict[str, Any], key: str) -> bool:
    value = caps.get(key)
    return bool(isinstance(value, dict) and value.get("supported"))


def list_models(client: httpx.Client, provider: ProviderSettings) -> list[RemoteModel]:
    headers = {"x-api-key": provider.api_key or "", "anthropic-version": "2023-06-01", "accept": "application/json"}
    url = provider.base_url.rstrip("/") + "/v1/models"

    def fetch(cursor: str | None) -> tuple[Any, str | None]:
        params: dict[str, Any] = {"limit": 1000}
        if cursor:
            params["after_id"] = cursor
        page = get_json(client, url, headers, params)
        more = page.get("has_more") and page.get("last_id")
        return page, (str(page["last_id"]) if more else None)

    out: list[RemoteModel] = []
    for page in pages(fetch):
        for entry in page.get("data") or []:
            caps = entry.get("capabilities") or {}
            features = ["streaming", "tools"]
            inputs = ["text"]
            if _supported(caps, "image_input"):
                features.append("vision")
                inputs.append("image")
            if _supported(caps, "pdf_input"):
                features.append("pdf_input")
                inputs.append("pdf")
            if _supported(caps, "structured_outputs"):
                features.append("structured_outputs")
            if _supported(caps, "thinking"):
                features.append("reasoning")
            max_in, max_out = entry.get("max_input_tokens"), entry.get("max_tokens")
            lifecycle = entry.get("lifecycle")
            out.append(RemoteModel(
                id=entry["id"],
                name=entry.get("display_name"),
                capabilities=("chat",),
                features=tuple(features) if caps else ("streaming", "tools"),
                context_window=max_in if isinstance(max_in, int) else None,
                max_output_tokens=max_out if isinstance(max_out, int) else None,
                modalities={"input": inputs, "output": ["text"]} if caps else None,
                release_date=date_of(entry.get("created_at")),
                status="deprecated" if lifecycle in ("deprecated", "retired") or entry.get("deprecated_at") else None,
            ))
    return out
