"""LiteLLM's ``model_prices_and_context_window.json``: one flat object, key = model as LiteLLM routes it.

Prices are USD per token (converted to per 1M); ``max_input_tokens`` is the context window,
``max_output_tokens`` the output limit; ``deprecation_date`` is the shutdown date. Its modality lists are
partial (no pdf), so modalities are compared through ``supports_vision`` only. ``sample_spec`` is skipped.
"""

from __future__ import annotations

from typing import Any

from vllora.audit.reference import RefModel, date, flag, number, per_million, whole
from vllora.errors import ReferenceInvalid

TITLE = "LiteLLM model_prices_and_context_window.json"
URL = "https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json"
_KIND = {"chat": "chat", "responses": "chat", "embedding": "embedding", "image_generation": "image_generation"}


def parse(data: Any, source: str) -> list[RefModel]:
    if not isinstance(data, dict) or not any(isinstance(v, dict) and "litellm_provider" in v for v in data.values()):
        raise ReferenceInvalid(f"{source} does not look like LiteLLM's price map: expected an object of model "
                               "entries with litellm_provider (pass it with --litellm)")
    found: list[RefModel] = []
    for key, entry in data.items():
        if key == "sample_spec" or not isinstance(entry, dict) or not isinstance(entry.get("litellm_provider"), str):
            continue
        found.append(RefModel(
            namespace=entry["litellm_provider"],
            name=key,
            kind=_KIND.get(entry.get("mode") or ""),
            input=per_million(entry.get("input_cost_per_token")),
            output=per_million(entry.get("output_cost_per_token")),
            cached_input=per_million(entry.get("cache_read_input_token_cost")),
            cache_write=per_million(entry.get("cache_creation_input_token_cost")),
            per_image=number(entry.get("output_cost_per_image")),
            context=whole(entry.get("max_input_tokens")),
            max_output=whole(entry.get("max_output_tokens")),
            tools=flag(entry.get("supports_function_calling")),
            vision=flag(entry.get("supports_vision")),
            reasoning=flag(entry.get("supports_reasoning")),
            retirement_date=date(entry.get("deprecation_date")),
        ))
    return found
