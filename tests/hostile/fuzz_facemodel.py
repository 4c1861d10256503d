"""Fuzz bodies for face-model files, run by test_facemodel_files.py inside the sandbox.

Each function mutates small valid files (bytes, lengths, dtypes, shapes,
metadata) and loads them; a load may succeed or raise FaceModelError, nothing else.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cmp_edge.errors import FaceModelError
from cmp_edge.facemodel import FaceModel
from tests.hostile.craft import (
    Tensor,
    mutations,
    npy_object_file,
    numpy_pickle,
    tiny_model_arrays,
    valid_checkpoint,
)

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


def load_only_domain_error(path: Path) -> FaceModel | None:
    """Load ``path``; only FaceModelError may escape, and never for a failed allocation
    (the limits must refuse a bomb before memory runs out)."""
    try:
        return FaceModel.load(path)
    except FaceModelError as exc:
        assert "fits in memory" not in str(exc), exc
        return None


def assert_values_from(fm: FaceModel, records: dict[str, bytes]) -> None:
    """Every loaded number must be one of the archive's stored numbers (no stray memory)."""
    pool = [
        np.frombuffer(raw[: len(raw) // size * size], dtype=dtype).astype(np.float64)
        for raw in records.values()
        for dtype, size in (("<f4", 4), ("<f8", 8), ("<f2", 2), ("<i8", 8), ("|b1", 1))
    ]
    known = np.unique(np.concatenate(pool))
    known = known[np.isfinite(known)]
    for arr in (fm.mean / np.float32(fm.source_scale), fm.shape_basis / fm.source_scale):
        values = np.asarray(arr, np.float64).ravel()
        idx = np.clip(np.searchsorted(known, values), 1, len(known) - 1)
        near = np.minimum(abs(known[idx] - values), abs(known[idx - 1] - values))
        assert np.all(near <= 1e-4 * np.maximum(1.0, abs(values))), "values not from the file"


def _folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="cmp-edge-fuzz-"))


INT_FIELD = st.one_of(
    st.integers(-(1 << 40), 1 << 40),
    st.sampled_from([0, 1, -1, 1 << 31, 1 << 62, 1 << 64, True, False]),
    st.sampled_from(["0", "x", "../../0"]),
)


@st.composite
def tensor_fields(draw: st.DrawFn) -> Tensor:
    ndim = draw(st.integers(0, 3))
    return Tensor(
        key=draw(st.sampled_from(["0", "1", "2", "9", "../0", "/etc/passwd", "", "a" * 80, 0])),
        offset=draw(INT_FIELD),
        size=tuple(draw(INT_FIELD) for _ in range(ndim)),
        stride=tuple(draw(INT_FIELD) for _ in range(draw(st.sampled_from([ndim, ndim + 1])))),
        storage=draw(
            st.sampled_from(
                [
                    "FloatStorage",
                    "DoubleStorage",
                    "LongStorage",
                    "BoolStorage",
                    "BFloat16Storage",
                    "ComplexFloatStorage",
                    "UntypedStorage",
                ]
            )
        ),
        numel=draw(st.one_of(st.none(), INT_FIELD)),
    )


SMALL = st.one_of(st.integers(-40, 40), st.sampled_from([1 << 20, 1 << 40, -(1 << 62)]))


@st.composite
def perturbed(draw: st.DrawFn, tensor: Tensor) -> Tensor:
    """``tensor`` with one or two fields changed (mostly small values: near misses)."""
    out = Tensor(
        tensor.key, tensor.offset, tensor.size, tensor.stride, tensor.storage, tensor.numel
    )
    for field in draw(
        st.lists(
            st.sampled_from(["offset", "size", "stride", "key", "storage", "numel", "any"]),
            min_size=1,
            max_size=2,
        )
    ):
        if field == "offset":
            out.offset = draw(SMALL)
        elif field in ("size", "stride"):
            values = list(getattr(out, field))
            values[draw(st.integers(0, len(values) - 1))] = draw(SMALL)
            setattr(out, field, tuple(values))
        elif field == "key":
            out.key = draw(st.sampled_from(["0", "1", "2", "9", "../0", "/etc/passwd", "", 0]))
        elif field == "storage":
            out.storage = draw(
                st.sampled_from(
                    [
                        "DoubleStorage",
                        "LongStorage",
                        "BoolStorage",
                        "HalfStorage",
                        "BFloat16Storage",
                    ]
                )
            )
        elif field == "numel":
            out.numel = draw(INT_FIELD)
        else:
            out = draw(tensor_fields())
    return out


def fuzz_checkpoint_fields() -> None:
    """Tensor metadata (offset, sizes, strides, storage type and record key) perturbed."""
    folder = _folder()

    @SETTINGS
    @given(name=st.sampled_from(["module.u", "module.w_shp", "module.w_exp"]), data=st.data())
    def run(name: str, data: st.DataObject) -> None:
        ckpt = valid_checkpoint()
        ckpt.tensors[name] = data.draw(perturbed(ckpt.tensors[name]))
        fm = load_only_domain_error(ckpt.write(folder / "ckpt.tar"))
        if fm is not None:
            assert_values_from(fm, ckpt.records)

    run()


def fuzz_checkpoint_bytes() -> None:
    """Raw byte mutations of the pickle and of the storage records (re-zipped validly)."""
    folder = _folder()
    base = valid_checkpoint()

    @SETTINGS
    @given(
        pkl=mutations(base.pickle_bytes()),
        record=mutations(base.records["1"]),
        which=st.sampled_from(["pickle", "record", "zip"]),
    )
    def run(pkl: bytes, record: bytes, which: str) -> None:
        path = folder / "ckpt.tar"
        ckpt = valid_checkpoint()
        if which == "record":
            ckpt.records["1"] = record
            ckpt.write(path)
        else:
            ckpt.write(path)
            if which == "pickle":
                with zipfile.ZipFile(path, "w") as zf:
                    zf.writestr("archive/data.pkl", pkl)
                    for key, raw in ckpt.records.items():
                        zf.writestr(f"archive/data/{key}", raw)
            else:
                path.write_bytes(pkl[:16] + path.read_bytes()[16:])
        load_only_domain_error(path)

    run()


def fuzz_numpy_pickles() -> None:
    """3DDFA-style pickles and object .npy files with mutated bytes, dtypes and shapes."""
    folder = _folder()
    arrays = tiny_model_arrays()

    @SETTINGS
    @given(
        protocol=st.sampled_from([2, 3, 4, 5]),
        dtype=st.sampled_from(["<f4", ">f8", "<i2", "|u1", "<c8", "|b1"]),
        order=st.sampled_from(["C", "F"]),
        container=st.sampled_from(["pkl", "npy"]),
        data=st.data(),
    )
    def run(protocol: int, dtype: str, order: str, container: str, data: st.DataObject) -> None:
        values = {k: np.asarray(v, dtype=dtype, order=order) for k, v in arrays.items()}
        raw = numpy_pickle(values, protocol) if container == "pkl" else npy_object_file(values)
        path = folder / f"model.{container}"
        path.write_bytes(data.draw(mutations(raw)))
        load_only_domain_error(path)

    run()


def fuzz_npy_folder() -> None:
    """A folder of u/w_shp/w_exp .npy files whose headers and data are mutated."""
    folder = _folder()
    arrays = tiny_model_arrays()

    @SETTINGS
    @given(name=st.sampled_from(list(arrays)), data=st.data())
    def run(name: str, data: st.DataObject) -> None:
        for key, arr in arrays.items():
            buf = io.BytesIO()
            np.save(buf, arr)
            raw = buf.getvalue()
            (folder / f"{key}.npy").write_bytes(data.draw(mutations(raw)) if key == name else raw)
        load_only_domain_error(folder)

    run()


def fuzz_npz() -> None:
    """cmp-edge .npz face models: bytes, member headers, meta JSON types and nesting."""
    folder = _folder()
    arrays = tiny_model_arrays()
    n = arrays["u"].shape[0] // 3
    model = FaceModel(
        arrays["u"].reshape(n, 3) / 1000,
        arrays["w_shp"],
        arrays["w_exp"],
        np.array([[0, 1, 2], [1, 2, 3]]),
        {"a": 0, "b": 1},
    )
    good = folder / "good.npz"
    model.save(good)
    base = good.read_bytes()
    json_values = st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=5)),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.text(max_size=5), children, max_size=3)
        ),
        max_leaves=8,
    )

    @SETTINGS
    @given(
        how=st.sampled_from(["bytes", "meta", "deep", "member", "deflate"]),
        raw=mutations(base),
        key=st.sampled_from(
            [
                "format",
                "id",
                "units",
                "source_scale",
                "landmark_names",
                "shape_names",
                "expr_names",
                None,
            ]
        ),
        value=json_values,
        member=st.sampled_from(["mean", "shape_basis", "triangles", "landmark_indices", "meta"]),
        data=st.data(),
    )
    def run(
        how: str, raw: bytes, key: str | None, value: object, member: str, data: st.DataObject
    ) -> None:
        import json

        path = folder / "model.npz"
        if how == "bytes":
            path.write_bytes(raw)
        else:
            with zipfile.ZipFile(good) as src:
                members = {i.filename: src.read(i.filename) for i in src.infolist()}
            if how in ("meta", "deep"):
                meta = json.loads(np.load(io.BytesIO(members["meta.npy"])).item())
                if key is None:
                    meta = value
                else:
                    meta[key] = value
                text = json.dumps(meta, allow_nan=True)
                if how == "deep":  # nesting far beyond Python's recursion limit
                    text = text[:-1] + ', "deep": ' + "[" * 5000 + "]" * 5000 + "}"
                buf = io.BytesIO()
                np.save(buf, np.array(text))
                members["meta.npy"] = buf.getvalue()
            elif how == "member":
                members[member + ".npy"] = data.draw(mutations(members[member + ".npy"]))
            compress = zipfile.ZIP_DEFLATED if how == "deflate" else zipfile.ZIP_STORED
            with zipfile.ZipFile(path, "w", compression=compress) as zf:
                for name, blob in members.items():
                    zf.writestr(name, blob)
        load_only_domain_error(path)

    run()
