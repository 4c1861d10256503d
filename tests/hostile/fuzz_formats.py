"""Fuzz bodies for the BFM (.mat) and SFM (.bin) readers, run inside the sandbox."""

from __future__ import annotations

import io

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tests.hostile.craft import mutations, sfm_file, tiny_model_arrays
from tests.hostile.fuzz_facemodel import SETTINGS, _folder, load_only_domain_error


def bfm_variables() -> dict[str, np.ndarray]:
    arrays = tiny_model_arrays()
    return {
        "shapeMU": arrays["u"],
        "shapePC": arrays["w_shp"],
        "shapeEV": np.ones((2, 1)),
        "tl": np.array([[1, 2, 3], [2, 3, 4]], dtype=np.float64),
        "expPC": arrays["w_exp"],
        "expEV": np.ones((1, 1)),
    }


ODD_VALUES = [
    np.array([[np.array([1.0])]], dtype=object),  # a cell
    "a string",
    {"field": np.ones(3)},  # a struct
    np.array([[1 + 2j]]),
    np.array([[np.nan]]),
    np.zeros((0, 0)),
    np.ones((2, 2, 2)),
    np.ones((5, 5)),  # wrong size for every variable
]


def fuzz_bfm() -> None:
    from scipy.io import savemat

    folder = _folder()

    @SETTINGS
    @given(
        compress=st.booleans(),
        how=st.sampled_from(["bytes", "value", "sparse"]),
        key=st.sampled_from(list(bfm_variables())),
        value=st.sampled_from(range(len(ODD_VALUES))),
        data=st.data(),
    )
    def run(compress: bool, how: str, key: str, value: int, data: st.DataObject) -> None:
        variables: dict[str, object] = dict(bfm_variables())
        if how == "value":
            variables[key] = ODD_VALUES[value]
        elif how == "sparse":
            from scipy.sparse import csc_matrix

            variables[key] = csc_matrix(np.asarray(variables[key]))
        buf = io.BytesIO()
        savemat(buf, variables, do_compression=compress)
        raw = buf.getvalue()
        path = folder / "bfm.mat"
        path.write_bytes(data.draw(mutations(raw)) if how == "bytes" else raw)
        load_only_domain_error(path)

    run()


def fuzz_sfm() -> None:
    folder = _folder()
    n = 4

    @SETTINGS
    @given(
        how=st.sampled_from(["bytes", "shapes"]),
        shapes=st.lists(st.tuples(st.integers(0, 14), st.integers(0, 3)), min_size=0, max_size=3),
        data=st.data(),
    )
    def run(how: str, shapes: list[tuple[int, int]], data: st.DataObject) -> None:
        shapes_ok = [("smile", np.ones((3 * n, 1)))]
        if how == "shapes":
            blend = [(f"b{i}", np.ones(s)) for i, s in enumerate(shapes)]
            raw = sfm_file(blend, n)
        else:
            raw = data.draw(mutations(sfm_file(shapes_ok, n)))
        path = folder / "sfm_shape_4.bin"
        path.write_bytes(raw)
        load_only_domain_error(path)

    run()
