"""Load YAML keeping where every key and value came from (1-based line and column).

``load_document(text, path)`` returns a ``Document``: the plain Python value plus a map from JSON pointer to
positions, so any problem found later (by the schema or a cross-file rule) can name the exact line.
Dates stay strings (``2024-05-13`` is not turned into a ``date``), duplicate keys are errors, ``.inf`` and
``.nan`` are errors (``finite_number``), and a YAML syntax error is reported at its own line.

This is the one safe YAML reader for the registry and the config file alike: no tags are constructed, a
file over ``MAX_YAML_BYTES`` is refused before it is parsed, and aliases may expand at most
``MAX_ALIAS_NODES`` nodes in total (an alias bomb or a self-referencing alias is one problem, not minutes
of CPU, gigabytes of memory or a ``RecursionError``). ``read_yaml_file`` refuses symlinks and anything
that is not a regular file when asked to (registry files come from pull requests).
"""

from __future__ import annotations

import math
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from vllora.errors import Problem

try:  # the C composer is much faster and keeps marks too
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader

MAX_YAML_BYTES = 256 * 1024  # no registry or config file comes close; a bigger one is a mistake or an attack
MAX_ALIAS_NODES = 1000  # nodes an alias may re-visit in one file, all aliases together


class _AliasLimit(Exception):
    def __init__(self, node: yaml.Node, reason: str) -> None:
        super().__init__(reason)
        self.node = node
        self.reason = reason


_constructor = yaml.constructor.SafeConstructor()
_SCALARS = {
    "tag:yaml.org,2002:int": _constructor.construct_yaml_int,
    "tag:yaml.org,2002:float": _constructor.construct_yaml_float,
    "tag:yaml.org,2002:bool": _constructor.construct_yaml_bool,
    "tag:yaml.org,2002:null": _constructor.construct_yaml_null,
}


@dataclass(slots=True)
class Document:
    path: str
    value: Any
    keys: dict[str, tuple[int, int]] = field(default_factory=dict)  # pointer -> where its key is written
    values: dict[str, tuple[int, int]] = field(default_factory=dict)  # pointer -> where its value starts
    problems: list[Problem] = field(default_factory=list)
    substituted: dict[str, list[str]] = field(default_factory=dict)  # config: pointer -> ${VAR} names used
    _seen: set[int] = field(default_factory=set, repr=False)  # ids of nodes converted at least once
    _open: set[int] = field(default_factory=set, repr=False)  # ids of collections being converted now
    _revisits: int = field(default=0, repr=False)

    def where(self, pointer: str, *, key: bool = False) -> tuple[int, int]:
        """Best position for a pointer: its key (or value), else the nearest ancestor's, else 1:1."""
        probe = pointer
        while True:
            table = (self.keys, self.values) if key else (self.values, self.keys)
            for t in table:
                if probe in t:
                    return t[probe]
            if not probe:
                return (1, 1)
            probe = probe.rsplit("/", 1)[0]

    def problem(self, pointer: str, message: str, check: str, *, key: bool = False) -> Problem:
        line, col = self.where(pointer, key=key)
        return Problem(self.path, line, col, pointer, message, check)


def escape(token: str) -> str:
    """One JSON pointer reference token (RFC 6901)."""
    return token.replace("~", "~0").replace("/", "~1")


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _convert(node: yaml.Node, pointer: str, doc: Document) -> Any:
    key = id(node)
    if key in doc._open:
        raise _AliasLimit(node, "an alias refers to the collection it is in (a self-referencing alias); "
                                "write the values out instead")
    if key in doc._seen:
        doc._revisits += 1
        if doc._revisits > MAX_ALIAS_NODES:
            raise _AliasLimit(node, f"aliases expand to more than {MAX_ALIAS_NODES} nodes (an alias bomb?); "
                                    "write the values out instead of nesting aliases")
    doc._seen.add(key)
    if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
        doc._open.add(key)
        try:
            return _convert_collection(node, pointer, doc)
        finally:
            doc._open.discard(key)
    doc.values.setdefault(pointer, _mark(node))
    assert isinstance(node, yaml.ScalarNode)
    build = _SCALARS.get(node.tag)
    value = build(node) if build is not None else str(node.value)
    if isinstance(value, float) and not math.isfinite(value):  # every numeric bound lets NaN through
        line, col = _mark(node)
        doc.problems.append(Problem(doc.path, line, col, pointer, "must be a finite number (.inf and .nan are "
                                                                  "not allowed)", "finite_number"))
    return value


def _convert_collection(node: yaml.Node, pointer: str, doc: Document) -> Any:
    doc.values.setdefault(pointer, _mark(node))
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                line, col = _mark(key_node)
                doc.problems.append(Problem(doc.path, line, col, pointer, "mapping keys must be plain strings",
                                            "yaml_syntax"))
                continue
            key = str(key_node.value)
            child = f"{pointer}/{escape(key)}"
            if key in out:
                line, col = _mark(key_node)
                first = doc.keys[child][0]
                doc.problems.append(Problem(doc.path, line, col, child,
                                            f"duplicate key {key!r} (first written on line {first}); keep one",
                                            "yaml_syntax"))
                continue
            doc.keys[child] = _mark(key_node)
            out[key] = _convert(value_node, child, doc)
        return out
    return [_convert(item, f"{pointer}/{i}", doc) for i, item in enumerate(node.value)]


def load_document(text: str, path: str) -> Document:
    doc = Document(path, None)
    if len(text) > MAX_YAML_BYTES:
        doc.problems.append(Problem(path, 1, 1, "", f"the file is over {MAX_YAML_BYTES // 1024} KB; "
                                                    "split it or shorten it", "yaml_size"))
        return doc
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        reason = exc.problem or str(exc)
        doc.problems.append(Problem(path, line, col, "", f"YAML syntax error: {reason}", "yaml_syntax"))
        return doc
    except yaml.YAMLError as exc:
        doc.problems.append(Problem(path, 1, 1, "", f"YAML error: {exc}", "yaml_syntax"))
        return doc
    except RecursionError:
        doc.problems.append(Problem(path, 1, 1, "", "the YAML is nested too deeply; flatten it", "yaml_syntax"))
        return doc
    if root is None:
        doc.problems.append(Problem(path, 1, 1, "", "the file is empty; write a YAML mapping", "yaml_syntax"))
        return doc
    try:
        doc.value = _convert(root, "", doc)
    except _AliasLimit as exc:
        line, col = _mark(exc.node)
        doc.problems.append(Problem(path, line, col, "", exc.reason, "yaml_alias"))
        doc.value = None
    except RecursionError:
        doc.problems.append(Problem(path, 1, 1, "", "the YAML is nested too deeply; flatten it", "yaml_syntax"))
        doc.value = None
    return doc


class FileRefused(Exception):
    """``read_yaml_file`` will not read this path; ``reason`` says why and how to fix it."""

    def __init__(self, reason: str, check: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.check = check


def read_yaml_file(path: Path, *, allow_symlink: bool = False) -> str:
    """A YAML file's text, read safely: a regular file (a symlink only when allowed) of at most
    ``MAX_YAML_BYTES``, never more than that read into memory (``/dev/zero`` costs nothing)."""
    if not allow_symlink and path.is_symlink():
        raise FileRefused("is a symbolic link; commit the file itself (links may point outside the repository)",
                          "no_symlinks")
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) * (not allow_symlink) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise FileRefused(f"cannot be read ({exc.strerror})", "readable") from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise FileRefused("is not a regular file", "readable")
        raw = fh.read(MAX_YAML_BYTES + 1)
    if len(raw) > MAX_YAML_BYTES:
        raise FileRefused(f"is over {MAX_YAML_BYTES // 1024} KB; split it or shorten it", "yaml_size")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FileRefused(f"is not UTF-8 (byte {exc.start})", "readable") from None


def symlink_problems(registry: Path, display: Callable[[Path], str]) -> list[Problem]:
    """Every symbolic link under the registry (folders included) is a problem: a link can point outside
    the repository, at a secret or at ``/dev/zero``. Links are reported, never followed."""
    out: list[Problem] = []
    for dirpath, dirs, files in os.walk(registry):  # os.walk does not descend into linked folders
        for name in sorted(dirs + files):
            path = Path(dirpath) / name
            if path.is_symlink() and not (name in files and name.endswith(".yaml")):  # files: _load says it
                out.append(Problem(display(path), 1, 1, "", f"{name} is a symbolic link; commit the folder or "
                                                             "file itself (links may point outside the repository)",
                                   "no_symlinks"))
    return out
