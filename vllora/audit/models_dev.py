"""models.dev's ``api.json``: ``{provider_id: {id, name, models: {model_id: Model}}}``.

Prices are already USD per 1M (``cost.input``, ``cost.output``, ``cost.cache_read``, ``cost.cache_write``);
``limit.context`` / ``limit.output``; ``modalities.input/output``; ``tool_call``, ``reasoning``; vision is
``image`` among the input modalities. ``status: deprecated`` means gone from the provider's API.
An embedding model is one whose id or family says ``embed``; image output alone makes an image model.
"""

from __future__ import annotations

from typing import Any

from vllora.audit.reference import RefModel, flag, modalities, number, obj, whole
from vllora.errors import ReferenceInvalid

TITLE = "models.dev api.json"
URL = "https://models.dev/api.json"


def _kind(model_id: str, m: dict[str, Any], outputs: tuple[str, ...] | None) -> str:
    if "embed" in model_id.lower() or "embed" in str(m.get("family") or "").lower():
        return "embedding"
    if outputs and "image" in outputs and "text" not in outputs:
        return "image_generation"
    return "chat"


def parse(data: Any, source: str) -> list[RefModel]:
    if not isinstance(data, dict) or not any(isinstance(p, dict) and isinstance(p.get("models"), dict)
                                             for p in data.values()):
        raise ReferenceInvalid(f"{source} does not look like models.dev's api.json: expected "
                               "{provider_id: {models: {...}}} (pass it with --models-dev)")
    found: list[RefModel] = []
    for provider_id, provider in data.items():
        if not isinstance(provider, dict) or not isinstance(provider.get("models"), dict):
            continue
        for model_id, m in provider["models"].items():
            if not isinstance(m, dict):
                continue
            cost = obj(m.get("cost"))
            limit = obj(m.get("limit"))
            mods = obj(m.get("modalities"))
            ins, outs = modalities(mods.get("input")), modalities(mods.get("output"))
            found.append(RefModel(
                namespace=str(provider_id),
                name=str(m.get("id") or model_id),
                kind=_kind(str(model_id), m, outs),
                input=number(cost.get("input")),
                output=number(cost.get("output")),
                cached_input=number(cost.get("cache_read")),
                cache_write=number(cost.get("cache_write")),
                context=whole(limit.get("context")),
                max_output=whole(limit.get("output")),
                modalities_in=ins,
                modalities_out=outs,
                tools=flag(m.get("tool_call")),
                vision=None if ins is None else "image" in ins,
                reasoning=flag(m.get("reasoning")),
                gone=m.get("status") == "deprecated",
            ))
    return found
