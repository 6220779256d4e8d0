"""Validate and compile the registry: one code path for ``vllora validate`` and ``vllora build``.

``compile_registry(dir)`` loads every provider and model file, runs every check in ``rules``, and returns
the artifact's data (see ``vllora.catalog.catalog``) together with all problems found. ``build_artifact``
writes it deterministically (sorted keys and models, fixed separators, atomic replace).
"""

from __future__ import annotations

import json
import os
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from vllora.catalog import rules
from vllora.catalog.catalog import artifact_data
from vllora.catalog.loader import Document, load_document
from vllora.errors import CatalogError, Problem, RegistryInvalid

MODEL_FIELDS_NULL = (
    "context_window", "max_output_tokens", "embedding_dimensions", "modalities", "release_date", "knowledge_cutoff",
    "deprecation_date", "successor", "notes", "sync",
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


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _load(path: Path, validator: Draft202012Validator) -> Document:
    doc = load_document(path.read_text(encoding="utf-8"), _display(path))
    if not doc.problems and not isinstance(doc.value, dict):
        doc.problems.append(Problem(doc.path, 1, 1, "", "a registry file must be a YAML mapping (key: value lines)",
                                    "schema"))
    elif not doc.problems:
        doc.problems.extend(rules.schema_problems(doc, validator))
    return doc


MODEL_ORDER = (
    "id", "provider", "name", "capabilities", "features", "context_window", "max_output_tokens", "pricing",
    "embedding_dimensions", "modalities", "aliases", "release_date", "knowledge_cutoff", "status",
    "deprecation_date", "successor", "sources", "notes", "sync",
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


def compile_registry(registry: Path, schemas: Path | None = None) -> tuple[dict[str, Any], list[Problem]]:
    """All problems in the registry, and the artifact data (only meaningful when there are none)."""
    registry = Path(registry)
    if not registry.is_dir():
        raise CatalogError(f"registry directory not found: {registry}")
    sdir = schemas_dir(schemas)
    provider_validator = _validator(sdir / "provider.schema.json")
    model_validator = _validator(sdir / "model.schema.json")
    problems: list[Problem] = []

    providers: list[dict[str, Any]] = []
    provider_ids: set[str] = set()
    for path in sorted((registry / "providers").glob("*.yaml")):
        doc = _load(path, provider_validator)
        problems.extend(doc.problems)
        if doc.problems:
            continue
        problems.extend(rules.provider_problems(doc, path.stem))
        providers.append(normalise_provider(doc.value))
        provider_ids.add(path.stem)

    models: list[dict[str, Any]] = []
    models_root = registry / "models"
    folders = sorted(p for p in models_root.iterdir() if p.is_dir()) if models_root.is_dir() else []
    for folder in folders:
        docs: list[Document] = []
        for path in sorted(folder.glob("*.yaml")):
            doc = _load(path, model_validator)
            problems.extend(doc.problems)
            if not doc.problems:
                problems.extend(rules.model_problems(doc, path.name))
                docs.append(doc)
        problems.extend(rules.provider_folder_problems(docs, folder.name, folder.name in provider_ids))
        models.extend(normalise_model(d.value, folder.name) for d in docs)
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
    return artifact_data(providers, models, vocab), problems


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
