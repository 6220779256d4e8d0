"""Checks across providers against a hostile pull request: who owns a credential variable, who makes an id.

``credential_env_owned``: a variable in a provider file's ``env:`` belongs to one provider (a new provider
naming ``OPENAI_API_KEY`` would receive the operator's OpenAI key). ``id_claimed``: an id or alias that
several providers offer is offered as its own by its maker only; the others declare they resell it
(``maker:`` in the model file, or ``resells: true`` in the provider file), so reviewers see every id a new
provider takes over and bare ids keep going to the maker (``resold`` feeds the catalog's index order).
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from typing import Any

from vllora.catalog.env_names import env_entries, env_owner
from vllora.catalog.loader import Document
from vllora.errors import Problem


def credential_env_problems(docs: list[Document]) -> list[Problem]:
    """``credential_env_owned``: a variable in ``env:`` belongs to one provider. A provider file naming
    another provider's variable (``OPENAI_API_KEY`` in a new provider) would send that key to its host."""
    named: dict[str, list[tuple[Document, str, str]]] = {}
    for doc in docs:
        value = doc.value if isinstance(doc.value, dict) else {}
        pid = str(value.get("id"))
        for variable, pointer in env_entries(value.get("env")):
            named.setdefault(variable, []).append((doc, pointer, pid))
    out: list[Problem] = []
    for variable, users in sorted(named.items()):
        if len({pid for _, _, pid in users}) < 2:
            continue
        owner = env_owner(variable, [pid for _, _, pid in users])
        for doc, pointer, pid in users:
            if pid == owner:
                continue
            others = ", ".join(sorted(p for _, _, p in users if p != pid))
            own = pid.upper().replace("-", "_") + "_API_KEY"
            out.append(doc.problem(pointer, f"{variable} is also named by provider(s) {others}: a credential or "
                                            "endpoint variable belongs to one provider, or this provider would "
                                            f"receive the other's key; name this provider's own (e.g. {own})",
                                   "credential_env_owned"))
    return out


def resold(provider: str, model: Mapping[str, Any], resellers: AbstractSet[str]) -> bool:
    """True when this offering is not the maker's own: ``maker:`` names another provider (or maker), or the
    provider file says ``resells: true`` and the model file does not say ``maker: <this provider>``."""
    maker = model.get("maker")
    if isinstance(maker, str):
        return maker != provider
    return provider in resellers


def claimed_id_problems(docs_by_provider: Mapping[str, list[Document]],
                        resellers: AbstractSet[str] = frozenset()) -> list[Problem]:
    """``id_claimed``: an id or alias offered by several providers. One of them makes the model; every other
    one declares it resells it, with ``maker: <provider>`` in the model file or ``resells: true`` in its
    provider file, so a reviewer sees a new provider claiming ``gpt-4o`` and bare ids keep going to the
    maker."""
    offers: dict[str, list[tuple[str, Document, str, str | None]]] = {}
    for provider, docs in docs_by_provider.items():
        for doc in docs:
            m = doc.value if isinstance(doc.value, dict) else {}
            maker = m.get("maker") if isinstance(m.get("maker"), str) and m.get("maker") != provider else None
            if maker is None and resold(provider, m, resellers):
                maker = ""  # resold, maker not named
            keys = [(m.get("id"), "/id")]
            keys += [(a, f"/aliases/{i}") for i, a in enumerate(m.get("aliases") or [])
                     if isinstance(m.get("aliases"), list)]
            for key, pointer in keys:
                if isinstance(key, str):
                    offers.setdefault(key, []).append((provider, doc, pointer, maker))
    out: list[Problem] = []
    for key, group in sorted(offers.items()):
        providers = {provider for provider, *_ in group}
        for _provider, doc, pointer, maker in group:
            if pointer == "/id" and maker and maker in docs_by_provider and maker not in providers:
                out.append(doc.problem("/maker", f"maker {maker!r} does not offer {key!r}; name the provider that "
                                                 "makes this model, or remove `maker:`", "id_claimed"))
        if len(providers) < 2:
            continue
        makers = [(provider, doc, pointer) for provider, doc, pointer, maker in group if maker is None]
        if len({provider for provider, *_ in makers}) < 2:
            continue
        for provider, doc, pointer in makers:
            others = ", ".join(sorted({p for p, *_ in makers if p != provider}))
            out.append(doc.problem(pointer, f"{key!r} is also offered by {others} as its own model; only its "
                                            "maker offers it as its own: a provider that resells it adds `maker: "
                                            "<the maker's provider id>` to this model file, or `resells: true` to "
                                            "its provider file (reviewers see the claim; bare ids go to the maker)",
                                   "id_claimed"))
    return out
