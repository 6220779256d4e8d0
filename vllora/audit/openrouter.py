"""OpenRouter's ``GET /api/v1/models``: ``{"data": [{id, pricing, context_length, architecture, ...}]}``.

Ids are ``author/slug``. Prices are USD-per-token strings (``"-1"`` for routers: left out);
``top_provider.max_completion_tokens`` is the output limit; the ``file`` modality is our ``pdf``;
``supported_parameters`` tells tools and reasoning; ``expiration_date`` is the shutdown date. The default
URL asks for every output modality (OpenRouter lists only text models otherwise).
"""

from __future__ import annotations

from typing import Any

from vllora.audit.reference import RefModel, date, modalities, obj, per_million, whole
from vllora.errors import ReferenceInvalid

TITLE = "OpenRouter /api/v1/models"
URL = "https://openrouter.ai/api/v1/models?output_modalities=all"
NAMESPACE = "openrouter"


def _price(pricing: dict[str, Any], key: str) -> float | None:
    value = per_million(pricing.get(key))
    return None if value is None or value < 0 else value


def parse(data: Any, source: str) -> list[RefModel]:
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise ReferenceInvalid(f"{source} does not look like OpenRouter's model list: expected "
                               '{"data": [...]} (pass it with --openrouter)')
    found: list[RefModel] = []
    for m in data["data"]:
        if not isinstance(m, dict) or not isinstance(m.get("id"), str):
            continue
        pricing = obj(m.get("pricing"))
        arch = obj(m.get("architecture"))
        top = obj(m.get("top_provider"))
        params = m.get("supported_parameters")
        params = params if isinstance(params, list) else None
        ins = modalities(arch.get("input_modalities"), {"file": "pdf"})
        outs = modalities(arch.get("output_modalities"), {"embeddings": "embedding"})
        kind = "embedding" if outs and "embedding" in outs else (
            "image_generation" if outs and "image" in outs and "text" not in outs else "chat")
        found.append(RefModel(
            namespace=NAMESPACE,
            name=m["id"],
            kind=kind,
            input=_price(pricing, "prompt"),
            output=_price(pricing, "completion"),
            cached_input=_price(pricing, "input_cache_read"),
            cache_write=_price(pricing, "input_cache_write"),
            context=whole(m.get("context_length")),
            max_output=whole(top.get("max_completion_tokens")),
            modalities_in=ins,
            modalities_out=outs,
            tools=None if params is None else "tools" in params,
            vision=None if ins is None else "image" in ins,
            reasoning=None if params is None else "reasoning" in params,
            retirement_date=date(expires[:10]) if isinstance(expires := m.get("expiration_date"), str) else None,
        ))
    return found
