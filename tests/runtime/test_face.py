"""Face.save by suffix, atomically, with overwrite control."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cmp_edge.errors import OutputError
from tests.runtime.helpers import synthetic_voice


@pytest.fixture(scope="module")
def face(rec):  # noqa: ANN001, ANN201
    return rec.predict(synthetic_voice(2.0), 16000)


def test_save_formats(face, tmp_path: Path) -> None:  # noqa: ANN001
    import trimesh

    for suffix in (".ply", ".obj"):
        path = face.save(tmp_path / f"f{suffix}")
        mesh = trimesh.load(str(path), process=False)
        np.testing.assert_allclose(mesh.vertices, face.vertices, rtol=1e-5, atol=1e-4)
        assert len(mesh.faces) == len(face.triangles)
    from cmp_edge.output.params import load_params

    arrays, meta = load_params(face.save(tmp_path / "f.npz"))
    np.testing.assert_array_equal(arrays["vertices"], face.vertices)
    np.testing.assert_array_equal(arrays["triangles"], face.triangles)
    assert meta["face_model_id"] == face.face_model_id
    np.testing.assert_allclose(arrays["shape"], face.params["shape"])
    scene = trimesh.load(str(face.save(tmp_path / "f.glb")))
    (glb,) = scene.geometry.values()
    assert face.units == "mm"
    np.testing.assert_allclose(glb.vertices, face.vertices / 1000.0, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(glb.faces, face.triangles)
    info = json.loads(face.save(tmp_path / "f.json").read_text())
    assert info == json.loads(json.dumps(face.to_dict()))  # one format for files and the API
    assert info["metadata"]["face_model_id"] == face.face_model_id
    assert len(info["params"]["shape"]) == 40 and len(info["metadata"]["whitened"]) == 51
    assert info["params"]["scale"] == pytest.approx(face.scale)
    json_params, json_meta = load_params(tmp_path / "f.json")
    np.testing.assert_allclose(json_params["expr"], face.params["expr"], rtol=1e-6)
    assert json_meta == meta


def test_save_errors(face, tmp_path: Path) -> None:  # noqa: ANN001
    target = tmp_path / "f.json"
    face.save(target)
    before = target.read_bytes()
    with pytest.raises(OutputError, match="exists"):
        face.save(target, overwrite=False)
    assert target.read_bytes() == before
    with pytest.raises(OutputError, match="unknown output format"):
        face.save(tmp_path / "f.stl")
    with pytest.raises(OutputError, match="does not exist"):
        face.save(tmp_path / "missing" / "f.ply")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.json"]
    assert "Face(" in repr(face)
