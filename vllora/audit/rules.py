"""The id rules: which part of each reference holds which registry provider's models (``id_rules.yaml``).

``rule_for(provider, reference)`` gives a ``Rule`` or None (not compared). The YAML is checked strictly:
an unknown key is a ``ReferenceInvalid`` naming the file and the valid keys.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vllora.errors import ReferenceInvalid

RULES_PATH = Path(__file__).with_name("id_rules.yaml")
_KEYS = {"namespaces", "prefixes", "require_prefix", "skip", "complete", "only_listed"}


@dataclass(frozen=True, slots=True)
class Rule:
    namespaces: tuple[str, ...]
    prefixes: tuple[str, ...] = ()
    require_prefix: bool = False
    skip: tuple[re.Pattern[str], ...] = ()
    complete: bool = True

    def model_id(self, key: str) -> str | None:
        """The reference key as our model id (prefix stripped), or None when it is not this provider's model."""
        for prefix in self.prefixes:
            if key.startswith(prefix):
                key = key[len(prefix):]
                break
        else:
            if self.require_prefix:
                return None
        if any(p.search(key) for p in self.skip):
            return None
        return key


@dataclass(frozen=True, slots=True)
class IdRules:
    providers: Mapping[str, Mapping[str, Mapping[str, Any]]]
    defaults: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None = None) -> IdRules:
        import yaml

        path = path or RULES_PATH
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict) or set(data) - {"defaults", "providers"}:
            raise ReferenceInvalid(f"{path}: expected the keys defaults and providers")
        rules = cls(providers=data.get("providers") or {}, defaults=data.get("defaults") or {})
        for where, entry in [*((f"defaults.{r}", e) for r, e in rules.defaults.items()),
                             *((f"providers.{p}.{r}", e) for p, refs in rules.providers.items() for r, e in refs.items())]:
            unknown = set(entry) - _KEYS if isinstance(entry, dict) else {"(not a mapping)"}
            if unknown:
                raise ReferenceInvalid(f"{path}: {where}: unknown key(s) {', '.join(sorted(unknown))}; "
                                       f"valid: {', '.join(sorted(_KEYS))}")
        return rules

    def rule_for(self, provider: str, reference: str) -> Rule | None:
        entry = (self.providers.get(provider) or {}).get(reference)
        default = self.defaults.get(reference) or {}
        if entry is None:
            if default.get("only_listed"):
                return None  # this reference is compared only with the providers listed for it
            entry = {}
        namespaces = tuple(entry.get("namespaces") or [provider])
        prefixes = entry.get("prefixes")
        if prefixes is None:
            prefixes = [f"{ns}/" for ns in namespaces] if reference == "litellm" else []
        patterns = [*(default.get("skip") or []), *(entry.get("skip") or [])]
        return Rule(
            namespaces=namespaces,
            prefixes=tuple(prefixes),
            require_prefix=bool(entry.get("require_prefix", default.get("require_prefix", False))),
            skip=tuple(_compile(p) for p in patterns),
            complete=bool(entry.get("complete", default.get("complete", True))),
        )


def _compile(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ReferenceInvalid(f"{RULES_PATH.name}: skip pattern {pattern!r} is not a regular expression: {exc}") from None
