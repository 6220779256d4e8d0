"""Bedrock ``ListFoundationModels`` (``GET /foundation-models`` on the control plane, SigV4-signed)."""

from __future__ import annotations

import httpx

from vllora.errors import ProviderNotConfigured
from vllora.settings import ProviderSettings
from vllora.sync.remote import RemoteModel, date_of, get_json

_OUTPUT = {"TEXT": "chat", "EMBEDDING": "embedding", "IMAGE": "image_generation"}
_INPUT = {"TEXT": "text", "IMAGE": "image", "SPEECH": "audio", "VIDEO": "video"}


def list_models(client: httpx.Client, provider: ProviderSettings) -> list[RemoteModel]:
    base = (provider.control_url or "").rstrip("/")
    if not base:
        raise ProviderNotConfigured("no Bedrock control-plane URL: set AWS_ENDPOINT_URL_BEDROCK or AWS_REGION")
    url = base + "/foundation-models"
    headers = {"accept": "application/json"}
    if provider.aws is not None:
        from vllora.providers.sigv4 import sign

        headers = sign("GET", url, headers, b"", provider.aws, provider.aws.region, "bedrock")
    elif provider.api_key:
        headers["authorization"] = f"Bearer {provider.api_key}"
    data = get_json(client, url, headers)
    out = []
    for entry in data.get("modelSummaries") or []:
        outputs = list(entry.get("outputModalities") or [])
        caps = tuple(dict.fromkeys(_OUTPUT[o] for o in outputs if o in _OUTPUT))
        inputs = [_INPUT[i] for i in entry.get("inputModalities") or [] if i in _INPUT]
        features = []
        if entry.get("responseStreamingSupported") and "chat" in caps:
            features.append("streaming")
        if "image" in inputs and "chat" in caps:
            features.append("vision")
        lifecycle = entry.get("modelLifecycle") or {}
        on_demand = "ON_DEMAND" in (entry.get("inferenceTypesSupported") or [])
        out.append(RemoteModel(
            id=entry["modelId"],
            name=entry.get("modelName"),
            capabilities=caps,
            features=tuple(features),
            modalities={"input": inputs, "output": [
                {"chat": "text", "embedding": "embedding", "image_generation": "image"}[c] for c in caps
            ]} if caps else None,
            release_date=date_of(lifecycle.get("startOfLifeTime")),
            status="deprecated" if lifecycle.get("status") == "LEGACY" else None,
            skip_reason=None if caps and on_demand else (
                "not available on demand (provisioned or inference-profile only)" if caps
                else "no TEXT, EMBEDDING or IMAGE output"),
        ))
    return out
