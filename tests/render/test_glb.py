"""glTF binary writer: the container read back by hand (glTF 2.0 spec, 4.4) and by trimesh."""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path

import numpy as np
import pytest
import trimesh

from cmp_edge.errors import OutputError
from cmp_edge.output.glb import GLB_MAGIC, glb_bytes, write_glb

from .meshes import uv_sphere

# glTF 2.0: accessor componentType codes and element counts
_COMPONENT = {5121: np.uint8, 5123: np.uint16, 5125: np.uint32, 5126: np.float32}
_COUNT = {"SCALAR": 1, "VEC3": 3, "VEC4": 4}


def _parse(data: bytes) -> tuple[dict, bytes]:
    """A second, spec-only GLB reader: 12-byte header, JSON chunk, BIN chunk."""
    magic, version, length = struct.unpack_from("<4sII", data, 0)
    assert magic == b"glTF" and version == 2 and length == len(data)
    json_len, json_type = struct.unpack_from("<II", data, 12)
    assert json_type == 0x4E4F534A  # "JSON"
    doc = json.loads(data[20 : 20 + json_len])
    pos = 20 + json_len
    bin_len, bin_type = struct.unpack_from("<II", data, pos)
    assert bin_type == 0x004E4942  # "BIN\0"
    return doc, data[pos + 8 : pos + 8 + bin_len]


def _accessor(doc: dict, blob: bytes, index: int) -> np.ndarray:
    acc = doc["accessors"][index]
    view = doc["bufferViews"][acc["bufferView"]]
    start = view.get("byteOffset", 0) + acc.get("byteOffset", 0)
    dtype = np.dtype(_COMPONENT[acc["componentType"]]).newbyteorder("<")
    n = acc["count"] * _COUNT[acc["type"]]
    arr = np.frombuffer(blob, dtype=dtype, count=n, offset=start)
    return arr.reshape(acc["count"], -1)


@pytest.fixture(scope="module")
def sphere() -> tuple[np.ndarray, np.ndarray]:
    verts, faces = uv_sphere(75.0, 10, 20)
    rng = np.random.default_rng(3)
    return verts + rng.normal(0, 0.01, verts.shape).astype(np.float32), faces


def test_container_matches_mesh_in_metres(sphere) -> None:  # noqa: ANN001
    verts, faces = sphere
    data = glb_bytes(verts, faces)
    assert data[:4] == GLB_MAGIC == b"glTF"
    doc, blob = _parse(data)
    prim = doc["meshes"][0]["primitives"][0]
    assert prim.get("mode", 4) == 4  # triangles
    positions = _accessor(doc, blob, prim["attributes"]["POSITION"])
    np.testing.assert_allclose(positions, verts.astype(np.float64) / 1000.0, rtol=1e-6)
    indices = _accessor(doc, blob, prim["indices"]).reshape(-1, 3)
    np.testing.assert_array_equal(indices, faces)
    normals = _accessor(doc, blob, prim["attributes"]["NORMAL"])
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0, atol=1e-5)
    # outward normals of a sphere centred at the origin point away from it
    assert np.mean(np.sum(normals * positions, axis=1) > 0) > 0.99
    material = doc["materials"][prim["material"]]["pbrMetallicRoughness"]
    assert material["metallicFactor"] == 0.0


def test_trimesh_loads_same_mesh(sphere) -> None:  # noqa: ANN001
    verts, faces = sphere
    scene = trimesh.load(io.BytesIO(glb_bytes(verts, faces, units="cm")), file_type="glb")
    (mesh,) = scene.geometry.values()
    np.testing.assert_allclose(mesh.vertices, verts.astype(np.float64) / 100.0, rtol=1e-6)
    np.testing.assert_array_equal(mesh.faces, faces)


def test_vertex_colours(sphere) -> None:  # noqa: ANN001
    verts, faces = sphere
    colors = np.random.default_rng(0).integers(0, 256, (len(verts), 3), dtype=np.uint8)
    doc, blob = _parse(glb_bytes(verts, faces, colors))
    prim = doc["meshes"][0]["primitives"][0]
    rgba = _accessor(doc, blob, prim["attributes"]["COLOR_0"])
    np.testing.assert_array_equal(rgba[:, :3], colors)


def test_writer_is_atomic_and_checks(sphere, tmp_path: Path) -> None:  # noqa: ANN001
    verts, faces = sphere
    path = tmp_path / "m.glb"
    write_glb(path, verts, faces)
    assert path.read_bytes() == glb_bytes(verts, faces)
    with pytest.raises(OutputError, match="exists"):
        write_glb(path, verts, faces, overwrite=False)
    bad = verts.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        glb_bytes(bad, faces)
    with pytest.raises(IndexError):
        glb_bytes(verts, faces + len(verts))
    with pytest.raises(ValueError, match="units"):
        glb_bytes(verts, faces, units="inch")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.glb"]
