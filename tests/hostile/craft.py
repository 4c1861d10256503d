"""Builders of small valid and crafted files for the hostile-input tests (no binary blobs).

``tensor_checkpoint`` writes a zip checkpoint laid out as ``torch.save`` writes
one, with its ``data.pkl`` assembled opcode by opcode, so that every field of
a tensor (storage type, record key, offset, size, stride) can be set to
anything, including values torch itself would never write.
"""

from __future__ import annotations

import io
import pickle
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import strategies as st


# ----------------------------------------------------------------- pickle opcodes
def glob(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def text(value: str) -> bytes:
    raw = value.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def integer(value: int) -> bytes:
    return b"I" + str(int(value)).encode() + b"\n"  # protocol-0 INT: any size, any sign


def tup(items: list[bytes]) -> bytes:
    return b"(" + b"".join(items) + b"t"


@dataclass
class Tensor:
    """One tensor of a crafted checkpoint: ``storage[key]`` viewed with offset/size/stride."""

    key: str
    offset: Any
    size: tuple[Any, ...]
    stride: tuple[Any, ...]
    storage: str = "FloatStorage"
    numel: Any = None

    def opcodes(self) -> bytes:
        def item(v: Any) -> bytes:
            if isinstance(v, bool):
                return b"\x88" if v else b"\x89"
            if isinstance(v, int):
                return integer(v)
            return text(str(v))

        pid = tup(
            [text("storage"), glob("torch", self.storage), item(self.key), text("cpu")]
            + ([] if self.numel is None else [item(self.numel)])
        )
        hooks = glob("collections", "OrderedDict") + b")R"
        args = tup(
            [
                pid + b"Q",
                item(self.offset),
                tup([item(v) for v in self.size]),
                tup([item(v) for v in self.stride]),
                b"\x89",
                hooks,
            ]
        )
        return glob("torch._utils", "_rebuild_tensor_v2") + args + b"R"


@dataclass
class Checkpoint:
    """A zip checkpoint: ``{"state_dict": OrderedDict(name -> tensor)}`` plus data records."""

    tensors: dict[str, Tensor]
    records: dict[str, bytes]
    extra_pickle: bytes = b""
    prefix: str = "archive/"
    members: dict[str, bytes] = field(default_factory=dict)

    def pickle_bytes(self) -> bytes:
        body = b"".join(text(name) + t.opcodes() for name, t in self.tensors.items())
        state = glob("collections", "OrderedDict") + b")R(" + body + b"u"
        return b"\x80\x02}(" + text("state_dict") + state + self.extra_pickle + b"u."

    def write(self, path: Path, compress: int = zipfile.ZIP_STORED) -> Path:
        with zipfile.ZipFile(path, "w", compression=compress) as zf:
            zf.writestr(self.prefix + "data.pkl", self.pickle_bytes())
            for key, raw in self.records.items():
                zf.writestr(f"{self.prefix}data/{key}", raw)
            for name, raw in self.members.items():
                zf.writestr(name, raw)
        return path


def tiny_model_arrays(n: int = 4, seed: int = 0) -> dict[str, np.ndarray]:
    """u (3n, 1), w_shp (3n, 2), w_exp (3n, 1) float32 in micrometres (a ~150 mm wide face)."""
    rng = np.random.default_rng(seed)
    mean = rng.uniform(-1, 1, size=(n, 3)) * 75_000.0
    mean[0, 0], mean[1, 0] = -75_000.0, 75_000.0
    return {
        "u": mean.reshape(-1, 1).astype(np.float32),
        "w_shp": rng.standard_normal((3 * n, 2)).astype(np.float32),
        "w_exp": rng.standard_normal((3 * n, 1)).astype(np.float32),
    }


def valid_checkpoint(n: int = 4) -> Checkpoint:
    """A checkpoint holding ``module.u``, ``module.w_shp``, ``module.w_exp`` as torch lays them."""
    arrays = tiny_model_arrays(n)
    tensors: dict[str, Tensor] = {}
    records: dict[str, bytes] = {}
    for k, (name, arr) in enumerate(arrays.items()):
        rows, cols = arr.shape
        # stored column-major, as a transposed tensor would be: strides (1, rows)
        records[str(k)] = np.asfortranarray(arr).T.astype("<f4").tobytes()
        tensors[f"module.{name}"] = Tensor(str(k), 0, (rows, cols), (1, rows), numel=arr.size)
    return Checkpoint(tensors, records)


# ------------------------------------------------------------------ byte mutation
INTERESTING = [
    0,
    1,
    2,
    3,
    7,
    0x7F,
    0x80,
    0xFF,
    0x100,
    0x7FFF,
    0xFFFF,
    0x7FFFFFFF,
    0x80000000,
    0xFFFFFFFF,
    1 << 32,
    1 << 36,
    (1 << 63) - 1,
    1 << 63,
    (1 << 64) - 1,
]


@st.composite
def mutations(draw: st.DrawFn, data: bytes, max_ops: int = 4) -> bytes:
    """``data`` with 1..max_ops mutations: bytes, little/big-endian size fields, cuts, inserts."""
    buf = bytearray(data)
    for _ in range(draw(st.integers(1, max_ops))):
        if not buf:
            break
        pos = draw(st.integers(0, len(buf) - 1))
        op = draw(st.sampled_from(["byte", "u32", "u64", "be32", "cut", "insert", "delete"]))
        if op == "byte":
            buf[pos] = draw(st.integers(0, 255))
        elif op in ("u32", "be32", "u64"):
            width = 8 if op == "u64" else 4
            value = draw(st.sampled_from(INTERESTING)) % (1 << (8 * width))
            order = "big" if op == "be32" else "little"
            buf[pos : pos + width] = value.to_bytes(width, order)
        elif op == "cut":
            del buf[pos:]
        elif op == "insert":
            buf[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        else:
            del buf[pos : pos + draw(st.integers(1, 16))]
    return bytes(buf)


def numpy_pickle(arrays: dict[str, Any], protocol: int = 2) -> bytes:
    """``pickle.dumps`` of a dict of arrays, as 3DDFA's .pkl files are written."""
    return pickle.dumps(arrays, protocol=protocol)


def npy_object_file(obj: Any) -> bytes:
    """An .npy file of a 0-d object array holding ``obj`` (``np.save`` of a dict)."""
    buf = io.BytesIO()
    np.save(buf, np.array(obj, dtype=object), allow_pickle=True)
    return buf.getvalue()


# ------------------------------------------------------------ Surrey Face Model
def sfm_matrix(arr: np.ndarray) -> bytes:
    """An eos cereal Eigen matrix: int32 rows, int32 cols, float32 column-major values."""
    a = np.asarray(arr, dtype="<f4")
    a = a.reshape(-1, 1) if a.ndim == 1 else a
    return struct.pack("<ii", *a.shape) + a.tobytes(order="F")


def sfm_string(value: str) -> bytes:
    raw = value.encode()
    return struct.pack("<Q", len(raw)) + raw


def sfm_file(blendshapes: list[tuple[str, np.ndarray]] | None = None, n: int = 4) -> bytes:
    """A version-2 SFM .bin of the tiny model, with blendshapes as its expression model."""
    arrays = tiny_model_arrays(n)
    mean, basis = arrays["u"][:, 0] / 1000, arrays["w_shp"]
    tri = np.array([[0, 1, 2], [1, 2, 3]], dtype="<i4")
    out = [struct.pack("<I", 2), sfm_matrix(mean), sfm_matrix(basis)]
    out += [sfm_matrix(np.ones(basis.shape[1])), struct.pack("<Q", len(tri)), tri.tobytes()]
    empty = sfm_matrix(np.zeros((0, 0)))
    out += [empty, empty, empty, struct.pack("<Q", 0)]  # colour model: empty
    if blendshapes is None:
        out.append(b"\x01")  # expression model absent
    else:
        out += [b"\x00", struct.pack("<iQ", 1, len(blendshapes))]
        out += [sfm_string(name) + sfm_matrix(m) for name, m in blendshapes]
    return b"".join(out)
