"""Validate and compile the registry: one code path for ``vllora validate`` and ``vllora build``.

``compile_registry(dir)`` loads every provider and model file, runs every check in ``rules``, and returns
the artifact's data (see ``vllora.catalog.catalog``) together with all problems found. ``build_artifact``
writes it deterministically (sorted keys and models, fixed separators, atomic replace).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from vllora.catalog import claims, rules
from vllora.catalog.catalog import artifact_data
from vllora.catalog.loader import Document, FileRefused, load_document, read_yaml_file, symlink_problems
from vllora.errors import CatalogError, Problem, RegistryInvalid

MODEL_FIELDS_NULL = (
    "context_window", "max_output_tokens", "embedding_dimensions", "modalities", "release_date", "knowledge_cutoff",
    "deprecation_date", "retirement_date", "successor", "notes", "sync",
)
MODEL_FIELDS_LIST = ("capabilities", "features", "aliases", "sources")


def schemas_dir(explicit: Path | None = None) -> Path:
    """``schemas/`` of a source checkout, else the copy inside the installed package."""
    if explicit is not None:
        return explicit
    package = Path(__file__).resolve().parents[1]
    for candidate in (package.parent / "schemas", package / "_schemas"):
        if (candidate / "model.schema.json").is_file():
            return candidate
    raise CatalogError("cannot find the JSON schemas (schemas/ or vllora/_schemas); reinstall vllora")


@cache
def _validator(path: Path) -> Draft202012Validator:
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


@cache
def _fast_check(path: Path) -> Callable[[Any], bool] | None:
    """A compiled yes/no check of the same schema: the common case (a valid file) costs a tenth of jsonschema's.

    Only a file it rejects goes through jsonschema, which explains every problem; the two agree on validity
    (tests/catalog/test_fast_schema.py keeps them honest). None when fastjsonschema is not installed (a
    build environment without it): every file then goes through jsonschema, with the same result.
    """
    try:
        import fastjsonschema
    except ImportError:  # pragma: no cover - exercised by builds without the optional speed-up
        return None

    schema = json.loads(path.read_text(encoding="utf-8"))
    check = fastjsonschema.compile({k: v for k, v in schema.items() if k not in ("$schema", "$id")})

    def valid(value: Any) -> bool:
        try:
            check(value)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    return valid


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _displayer() -> Callable[[Path], str]:
    """``_display`` for many files: the working directory and each folder are resolved once, not per file."""
    cwd = Path.cwd().resolve()
    folders: dict[Path, Path] = {}

    def display(path: Path) -> str:
        if path.is_symlink():
            full = path.resolve()
        else:
            parent = folders.get(path.parent)
            if parent is None:
                parent = folders[path.parent] = path.parent.resolve()
            full = parent / path.name
        try:
            return str(full.relative_to(cwd))
        except ValueError:
            return str(path)

    return display


def _load(path: Path, validator: Draft202012Validator, valid: Callable[[Any], bool] | None = None,
          display: Callable[[Path], str] = _display) -> Document:
    try:
        text = read_yaml_file(path)
    except FileRefused as exc:
        doc = Document(display(path), None)
        doc.problems.append(Problem(doc.path, 1, 1, "", f"{path.name} {exc.reason}", exc.check))
        return doc
    doc = load_document(text, display(path))
    if not doc.problems and not isinstance(doc.value, dict):
        doc.problems.append(Problem(doc.path, 1, 1, "", "a registry file must be a YAML mapping (key: value lines)",
                                    "schema"))
    elif not doc.problems and (valid is None or not valid(doc.value)):
        doc.problems.extend(rules.schema_problems(doc, validator))
    return doc


MODEL_ORDER = (
    "id", "provider", "name", "capabilities", "features", "context_window", "max_output_tokens", "pricing",
    "embedding_dimensions", "modalities", "aliases", "release_date", "knowledge_cutoff", "status",
    "deprecation_date", "retirement_date", "successor", "sources", "notes", "sync",
)
PRICE_ORDER = ("input", "output", "cached_input", "cache_write", "per_image")


def normalise_model(value: dict[str, Any], provider: str) -> dict[str, Any]:
    """The API's Model object: every documented field present (lists as [], unknowns as null), fixed key order."""
    model: dict[str, Any] = {"id": value["id"], "provider": provider, "name": value["name"]}
    for key in MODEL_FIELDS_LIST:
        model[key] = list(value.get(key) or [])
    for key in MODEL_FIELDS_NULL:
        model[key] = value.get(key)
    given = value.get("pricing") or {}
    model["pricing"] = {k: given.get(k) for k in PRICE_ORDER if k in ("input", "output") or k in given}
    model["status"] = value.get("status", "active")
    out = {key: model[key] for key in MODEL_ORDER}
    out["inference_profiles"] = inference_profiles(value)
    return out


def inference_profiles(value: dict[str, Any]) -> dict[str, Any] | None:
    """A model's Bedrock inference profiles as the API shows them: whether one is required, and every profile id."""
    given = value.get("inference_profiles")
    if not given:
        return None
    return {"required": bool(given.get("required")), "ids": [f"{geo}.{value['id']}" for geo in given["geos"]]}


def normalise_provider(value: dict[str, Any]) -> dict[str, Any]:
    first = ("id", "name", "adapter", "base_url")
    return {**{k: value[k] for k in first}, **{k: value[k] for k in sorted(value) if k not in first}}


def compile_registry(registry: Path, schemas: Path | None = None,
                     today: date | None = None) -> tuple[dict[str, Any], list[Problem]]:
    """All problems in the registry, and the artifact data (only meaningful when there are none).

    With ``today`` the date-dependent ``lifecycle`` rule runs too (``vllora validate`` passes it); building
    the artifact leaves it out, so a build never fails only because a calendar day passed.
    """
    registry = Path(registry)
    if not registry.is_dir():
        raise CatalogError(f"registry directory not found: {registry}")
    sdir = schemas_dir(schemas)
    provider_validator = _validator(sdir / "provider.schema.json")
    model_validator = _validator(sdir / "model.schema.json")
    model_valid = _fast_check(sdir / "model.schema.json")
    display = _displayer()
    problems: list[Problem] = []

    providers: list[dict[str, Any]] = []
    provider_ids: set[str] = set()
    provider_docs: list[Document] = []
    problems.extend(symlink_problems(registry, _display))
    provider_dir = registry / "providers"
    for path in sorted(provider_dir.glob("*.yaml")) if not provider_dir.is_symlink() else []:
        doc = _load(path, provider_validator)
        problems.extend(doc.problems)
        if doc.problems:
            continue
        problems.extend(rules.provider_problems(doc, path.stem))
        providers.append(normalise_provider(doc.value))
        provider_ids.add(path.stem)
        provider_docs.append(doc)
    problems.extend(claims.credential_env_problems(provider_docs))

    models: list[dict[str, Any]] = []
    docs_by_provider: dict[str, list[Document]] = {}
    models_root = registry / "models"
    folders = sorted(p for p in models_root.iterdir() if p.is_dir() and not p.is_symlink()) \
        if models_root.is_dir() and not models_root.is_symlink() else []
    for folder in folders:
        docs: list[Document] = []
        for path in sorted(folder.glob("*.yaml")):
            doc = _load(path, model_validator, model_valid, display)
            problems.extend(doc.problems)
            if not doc.problems:
                problems.extend(rules.model_problems(doc, path.name))
                if today is not None:
                    problems.extend(rules.lifecycle_problems(doc, today))
                docs.append(doc)
        problems.extend(rules.provider_folder_problems(docs, folder.name, folder.name in provider_ids))
        models.extend(normalise_model(d.value, folder.name) for d in docs)
        docs_by_provider[folder.name] = docs
    resellers = {p["id"] for p in providers if p.get("resells") is True}
    problems.extend(claims.claimed_id_problems(docs_by_provider, resellers))
    resold = {(provider, d.value["id"]) for provider, docs in docs_by_provider.items() for d in docs
              if claims.resold(provider, d.value, resellers)}
    for stray in sorted(models_root.glob("*.yaml")) if models_root.is_dir() else []:
        problems.append(Problem(_display(stray), 1, 1, "", "model files go in registry/models/<provider>/; move it",
                                "provider_file_exists"))

    schema: Any = model_validator.schema
    props: dict[str, Any] = schema["properties"]
    vocab = {
        "capabilities": list(props["capabilities"]["items"]["enum"]),
        "features": list(props["features"]["items"]["enum"]),
    }
    problems.sort(key=lambda p: (p.path, p.line, p.col, p.check))
    return artifact_data(providers, models, vocab, resold), problems


def serialise(data: dict[str, Any]) -> bytes:
    """Deterministic bytes: same registry, same artifact (every dict is built in a fixed key order)."""
    return (json.dumps(data, separators=(",", ":"), ensure_ascii=False) + "\n").encode("utf-8")


def write_atomic(path: Path, raw: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".catalog-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def build_artifact(registry: Path, out_path: Path, schemas_dir: Path | None = None) -> Path:
    data, problems = compile_registry(registry, schemas_dir)
    if problems:
        raise RegistryInvalid(problems)
    write_atomic(Path(out_path), serialise(data))
    return Path(out_path)
