"""Fuzz body for bundle metadata, run by test_bundle_files.py inside the sandbox."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from cmp_edge.errors import ModelError
from cmp_edge.model.bundle import REQUIRED_KEYS, parse_metadata
from tests.hostile.bundles import metadata
from tests.hostile.fuzz_facemodel import SETTINGS

JSON = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(1 << 70), 1 << 70),
        st.floats(),
        st.text(max_size=8),
    ),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=10,
)


@st.composite
def raw_value(draw: st.DrawFn) -> str:
    how = draw(st.sampled_from(["json", "text", "deep", "number"]))
    if how == "json":
        return json.dumps(draw(JSON), allow_nan=True)
    if how == "deep":
        depth = draw(st.sampled_from([63, 65, 1000, 200_000]))
        return "[" * depth + "]" * depth
    if how == "number":
        return str(draw(st.one_of(st.integers(-(1 << 70), 1 << 70), st.floats())))
    return draw(st.text(max_size=30))


def fuzz_metadata() -> None:
    keys = [*REQUIRED_KEYS, "face_model_file"]

    @SETTINGS
    @given(
        changes=st.dictionaries(st.sampled_from(keys), raw_value(), min_size=1, max_size=3),
        drop=st.lists(st.sampled_from(keys), max_size=2),
    )
    def run(changes: dict[str, str], drop: list[str]) -> None:
        meta = metadata(**changes)
        for key in drop:
            meta.pop(f"cmp_edge.{key}", None)
        try:
            info = parse_metadata(Path("/tmp/model.onnx"), meta)
        except ModelError:
            return
        json.dumps(info.summary())  # what `cmp-edge info` prints must be printable

    run()
