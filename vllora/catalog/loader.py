"""Load YAML keeping where every key and value came from (1-based line and column).

``load_document(text, path)`` returns a ``Document``: the plain Python value plus a map from JSON pointer to
positions, so any problem found later (by the schema or a cross-file rule) can name the exact line.
Dates stay strings (``2024-05-13`` is not turned into a ``date``), duplicate keys are errors, and a YAML
syntax error is reported at its own line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from vllora.errors import Problem

try:  # the C composer is much faster and keeps marks too
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader

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
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, f"{pointer}/{i}", doc) for i, item in enumerate(node.value)]
    assert isinstance(node, yaml.ScalarNode)
    build = _SCALARS.get(node.tag)
    return build(node) if build is not None else str(node.value)


def load_document(text: str, path: str) -> Document:
    doc = Document(path, None)
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
    if root is None:
        doc.problems.append(Problem(path, 1, 1, "", "the file is empty; write a YAML mapping", "yaml_syntax"))
        return doc
    doc.value = _convert(root, "", doc)
    return doc
