"""``vllora sync --models``: learn new models from the providers' list endpoints.

One reader per protocol, registered in ``READERS`` (protocol -> module exposing ``list_models``), exactly
like the adapters. OpenAI-compatible providers use the OpenAI reader with their own base URL and key.
Readers do HTTP through the ``httpx.Client`` they are given and return ``RemoteModel`` objects; planning
(what is new, what differs) and writing are in ``plan.py`` and ``writer.py`` and never touch an existing file.
"""

from __future__ import annotations

READERS: dict[str, str] = {
    "openai": "vllora.sync.openai_list",
    "anthropic": "vllora.sync.anthropic_list",
    "gemini": "vllora.sync.gemini_list",
    "bedrock": "vllora.sync.bedrock_list",
}
