"""Every check ``vllora validate`` makes, each named, each message saying how to fix the problem.

Per file: ``yaml_syntax`` (in the loader) and ``schema`` (JSON Schema 2020-12, strict). Across files:
``provider_id_matches_filename``, ``id_matches_filename``, ``provider_file_exists``, ``duplicate_id``,
``alias_collision``, ``successor_exists``, ``price_ceiling``, ``context_window_required``,
``pricing_required``, ``limits_consistent``, and, when ``vllora validate`` passes today's date, ``lifecycle``
(``retirement_date`` in the past means ``status: retired``; ``deprecation_date``, the announcement, comes
first). Curated files are those without a ``sync:`` block; files
written by ``vllora sync`` may lack facts the provider's API does not give.
"""

from __future__ import annotations

import calendar
import difflib
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from vllora.catalog.loader import Document, escape
from vllora.errors import Problem

PRICE_CEILING = 1000.0  # USD per 1M tokens
IMAGE_PRICE_CEILING = 100.0  # USD per image
_TYPE_NAMES = {"integer": "a whole number", "number": "a number", "string": "a string", "array": "a list",
               "object": "a mapping", "boolean": "true or false"}


def file_name_for(model_id: str) -> str:
    """The file name a model id must have: ':' and '/' written as '_'."""
    return model_id.replace(":", "_").replace("/", "_") + ".yaml"


# --- schema -----------------------------------------------------------------------------------------


def schema_problems(doc: Document, validator: Draft202012Validator) -> list[Problem]:
    out: list[Problem] = []
    errors = sorted(validator.iter_errors(doc.value),
                    key=lambda e: ([str(p) for p in e.absolute_path], str(e.validator)))
    for error in errors:
        out.extend(_explain(doc, error))
    return out


def _pointer(path: Iterable[Any]) -> str:
    return "".join(f"/{escape(str(p))}" for p in list(path))


def _suggest(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}? " if close else ""


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _explain(doc: Document, error: ValidationError) -> list[Problem]:
    pointer = _pointer(list(error.absolute_path))
    schema: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    kind = error.validator
    if kind == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(schema.get("properties", {}))
        extras = [k for k in error.instance if k not in schema.get("properties", {})]
        return [
            doc.problem(f"{pointer}/{escape(k)}",
                        f"unknown key {k!r}; {_suggest(k, allowed)}allowed keys: {', '.join(allowed) or 'none'}",
                        "schema", key=True)
            for k in extras
        ]
    if kind == "required":
        missing = str(error.message).split("'")[1] if "'" in str(error.message) else str(error.validator_value)
        where = "at the top of the file" if not pointer else f"under {pointer}"
        return [doc.problem(pointer, f"missing required key {missing!r}: add `{missing}: ...` {where}", "schema")]
    if kind == "enum":
        options = [str(v) for v in schema.get("enum", [])]
        return [doc.problem(pointer, f"unknown value {_show(error.instance)}; {_suggest(str(error.instance), options)}"
                                     f"valid values: {', '.join(options)}", "schema")]
    if kind == "type":
        expected: Any = error.validator_value
        names = [expected] if isinstance(expected, str) else list(expected)
        want = " or ".join(_TYPE_NAMES.get(n, n) for n in names)
        hint = " (write numbers without quotes)" if isinstance(error.instance, str) and "number" in want else ""
        return [doc.problem(pointer, f"expected {want}, got {_show(error.instance)}{hint}", "schema")]
    if kind in ("minimum", "exclusiveMinimum"):
        op = ">=" if kind == "minimum" else ">"
        return [doc.problem(pointer, f"must be {op} {error.validator_value} (got {_show(error.instance)})", "schema")]
    if kind == "maximum":
        return [doc.problem(pointer, f"must be <= {error.validator_value} (got {_show(error.instance)})", "schema")]
    if kind == "pattern":
        desc = schema.get("description") or f"the pattern {error.validator_value}"
        pattern = str(error.validator_value)
        if "https?" in pattern:
            desc = "an http(s):// URL with a host name (no spaces, quotes or angle brackets)"
        elif "@" in pattern:
            desc = ("an id of ASCII letters, digits and . _ : / @ ~ - starting with a letter, digit, @ or ~ (no spaces, "
                    "no invisible or direction-changing characters)")
        elif "\\r\\n" in pattern:
            desc = "a header value: CR, LF and NUL are not allowed"
        elif "|~" in pattern:
            desc = "an HTTP header name (letters, digits and !#$%&'*+.^_`|~-)"
        elif "A-Z" in pattern:
            desc = "an environment variable name in UPPER_SNAKE_CASE"
        return [doc.problem(pointer, f"{_show(error.instance)} is not {desc}", "schema")]
    if kind == "uniqueItems":
        return [doc.problem(pointer, "list has repeated entries; keep each value once", "schema")]
    if kind == "minItems":
        return [doc.problem(pointer, f"list needs at least {error.validator_value} entr"
                                     f"{'y' if error.validator_value == 1 else 'ies'}", "schema")]
    if kind == "minLength":
        return [doc.problem(pointer, "must not be empty", "schema")]
    if kind == "maxLength":
        return [doc.problem(pointer, f"is longer than {error.validator_value} characters; shorten it", "schema")]
    if kind in ("oneOf", "anyOf"):
        return [doc.problem(pointer, f"{_show(error.instance)} is not valid here: write a string or a list of "
                                     "strings as the schema describes", "schema")]
    return [doc.problem(pointer, str(error.message), "schema")]


# --- cross-file ------------------------------------------------------------------------------------


def provider_problems(doc: Document, stem: str) -> list[Problem]:
    value = doc.value if isinstance(doc.value, dict) else {}
    pid = value.get("id")
    if isinstance(pid, str) and pid != stem:
        return [doc.problem("/id", f"provider id {pid!r} must equal the file name {stem!r}: rename the file to "
                                   f"{pid}.yaml or set `id: {stem}`", "provider_id_matches_filename")]
    return []


def model_problems(doc: Document, file_name: str) -> list[Problem]:
    """Checks that need only the one model file."""
    m = doc.value if isinstance(doc.value, dict) else {}
    out: list[Problem] = []
    mid = m.get("id")
    if isinstance(mid, str) and file_name_for(mid) != file_name:
        out.append(doc.problem("/id", f"id {mid!r} must match the file name: name the file {file_name_for(mid)} "
                                      "(':' and '/' are written as '_')", "id_matches_filename"))
    raw_pricing = m.get("pricing")
    pricing: dict[str, Any] = raw_pricing if isinstance(raw_pricing, dict) else {}
    for key, value in pricing.items():
        ceiling = IMAGE_PRICE_CEILING if key == "per_image" else PRICE_CEILING
        if isinstance(value, int | float) and value > ceiling:
            unit = "per image" if key == "per_image" else "per 1M tokens"
            out.append(doc.problem(f"/pricing/{key}", f"{value} USD {unit} is above the sanity ceiling of {ceiling}: "
                                                      "prices are USD per 1M tokens, not per token or per 1K",
                                   "price_ceiling"))
    curated = "sync" not in m
    raw_caps = m.get("capabilities")
    caps: list[Any] = raw_caps if isinstance(raw_caps, list) else []
    if curated and "chat" in caps and "context_window" not in m:
        out.append(doc.problem("/capabilities", "curated chat models must state context_window (max input + "
                                                "output tokens): add `context_window: N`", "context_window_required"))
    if curated and caps:
        has_tokens = pricing.get("input") is not None and pricing.get("output") is not None
        needs_tokens = "chat" in caps or "embedding" in caps
        if needs_tokens and not has_tokens:
            out.append(doc.problem("/pricing" if "pricing" in m else "/capabilities",
                                   "curated chat and embedding models need pricing.input and pricing.output "
                                   "(USD per 1M tokens; 0 for free models)", "pricing_required"))
        elif caps == ["image_generation"] and pricing.get("per_image") is None and not has_tokens:
            out.append(doc.problem("/pricing" if "pricing" in m else "/capabilities",
                                   "curated image models need pricing.per_image (USD per image at the default "
                                   "size and quality)", "pricing_required"))
    ctx, max_out = m.get("context_window"), m.get("max_output_tokens")
    if isinstance(ctx, int) and isinstance(max_out, int) and max_out > ctx:
        out.append(doc.problem("/max_output_tokens", f"max_output_tokens ({max_out:,}) exceeds context_window "
                                                     f"({ctx:,}); one of them is wrong", "limits_consistent"))
    return out


def provider_folder_problems(docs: list[Document], provider: str, has_provider_file: bool) -> list[Problem]:
    """Checks across the model files of one provider folder."""
    out: list[Problem] = []
    if not has_provider_file:
        for doc in docs:
            out.append(doc.problem("", f"no provider file for {provider!r}: add registry/providers/{provider}.yaml "
                                       "(see CONTRIBUTING.md) or move this file", "provider_file_exists"))
    by_id: dict[str, list[Document]] = {}
    for doc in docs:
        mid = doc.value.get("id") if isinstance(doc.value, dict) else None
        if isinstance(mid, str):
            by_id.setdefault(mid, []).append(doc)
    ids = {mid: group[0] for mid, group in by_id.items()}
    for mid, group in by_id.items():
        for doc in group if len(group) > 1 else []:
            others = ", ".join(d.path for d in group if d is not doc)
            out.append(doc.problem("/id", f"id {mid!r} is already used by {others}; each id once per provider",
                                   "duplicate_id"))
    aliases: dict[str, Document] = {}
    for doc in docs:
        m = doc.value if isinstance(doc.value, dict) else {}
        for i, alias in enumerate(m.get("aliases") or [] if isinstance(m.get("aliases"), list) else []):
            if not isinstance(alias, str):
                continue
            if alias in ids:
                out.append(doc.problem(f"/aliases/{i}", f"alias {alias!r} is the id of {ids[alias].path}; aliases "
                                                        "must not collide with ids", "alias_collision"))
            elif alias in aliases and aliases[alias] is not doc:
                out.append(doc.problem(f"/aliases/{i}", f"alias {alias!r} is already an alias in "
                                                        f"{aliases[alias].path}; give it to one model",
                                       "alias_collision"))
            aliases.setdefault(alias, doc)
    for doc in docs:
        m = doc.value if isinstance(doc.value, dict) else {}
        successor = m.get("successor")
        if isinstance(successor, str) and successor not in ids:
            hint = _suggest(successor, ids)
            out.append(doc.problem("/successor", f"successor {successor!r} is not a model of {provider!r}; "
                                                 f"{hint}name an existing id", "successor_exists"))
    return out


# --- lifecycle --------------------------------------------------------------------------------------


def _day(value: Any, *, last: bool) -> date | None:
    """A registry date (YYYY-MM-DD or YYYY-MM) as a date; a bare month is its first or its last day."""
    if not isinstance(value, str):
        return None
    try:
        parts = [int(p) for p in value.split("-")]
        if len(parts) == 2:
            day = calendar.monthrange(parts[0], parts[1])[1] if last else 1
            return date(parts[0], parts[1], day)
        return date(parts[0], parts[1], parts[2])
    except (ValueError, IndexError):
        return None


def lifecycle_problems(doc: Document, today: date) -> list[Problem]:
    """One meaning per date: ``deprecation_date`` is when the end was announced, ``retirement_date`` when the
    model shuts down. A retirement date on or before ``today`` means ``status: retired``."""
    m = doc.value if isinstance(doc.value, dict) else {}
    out: list[Problem] = []
    status = m.get("status", "active")
    retired_on = _day(m.get("retirement_date"), last=True)
    if retired_on is not None and retired_on <= today and status != "retired":
        out.append(doc.problem("/status" if "status" in m else "/retirement_date",
                               f"retirement_date {m['retirement_date']} is not after today ({today.isoformat()}) but "
                               f"status is {status!r}: set `status: retired` (or correct the date)", "lifecycle"))
    first_day = _day(m.get("retirement_date"), last=False)
    if status == "retired" and first_day is not None and first_day > today:
        out.append(doc.problem("/status", f"status is 'retired' but retirement_date {m['retirement_date']} is after "
                                          f"today ({today.isoformat()}): set `status: deprecated` until that day",
                               "lifecycle"))
    announced = _day(m.get("deprecation_date"), last=False)
    if announced is not None and retired_on is not None and announced > retired_on:
        out.append(doc.problem("/deprecation_date", f"deprecation_date {m['deprecation_date']} is after "
                                                    f"retirement_date {m['retirement_date']}: deprecation_date is "
                                                    "when the end was announced, retirement_date when the model "
                                                    "shuts down; swap or correct them", "lifecycle"))
    return out
