"""The .pyi stub of the extension names exactly what the extension exports."""

from __future__ import annotations

import ast
from pathlib import Path

import cmp_edge
from cmp_edge import _C


def _stub_names() -> set[str]:
    stub = Path(cmp_edge.__file__).with_name("_C.pyi")
    tree = ast.parse(stub.read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
    return names


def test_stub_matches_extension() -> None:
    exported = {n for n in dir(_C) if not n.startswith("_")}
    assert _stub_names() == exported


def test_cuda_queries_never_raise() -> None:
    assert isinstance(_C.has_cuda(), bool)
    count = _C.cuda_device_count()
    assert isinstance(count, int) and count >= 0
