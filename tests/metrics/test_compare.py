"""compare_meshes, load_mesh and ``cmp-edge compare``."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from cmp_edge import metrics
from cmp_edge.cli.main import main
from cmp_edge.errors import MeshError
from cmp_edge.facemodel import FaceModel
from cmp_edge.output.mesh import save_mesh
from cmp_edge.output.render import read_png
from tests.metrics.meshes import face_grid, rotation

IBUG = [f"ibug_{i:02d}" for i in range(68)]


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def faces(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A predicted face of the default model, a reference that differs by a known
    rigid motion plus a known bump on the nose, and their files."""
    fm = FaceModel.default()
    root = tmp_path_factory.mktemp("faces")
    pred = fm.reconstruct(np.linspace(-1, 1, 40).astype(np.float32))
    reg = metrics.model_regions(fm)
    bumped = np.asarray(pred, np.float64).copy()
    bumped[reg.indices("nose"), 2] += 2.0  # 2 mm, the nose only
    r, t = rotation([0.05, 0.1, -0.02]), np.array([3.0, -4.0, 1.0])
    ref = bumped @ r.T + t
    save_mesh(root / "pred.ply", pred, fm.triangles)
    save_mesh(root / "ref.obj", ref, fm.triangles)
    save_mesh(root / "same.ply", np.asarray(pred, np.float64) @ r.T + t, fm.triangles)
    return {"pred": root / "pred.ply", "ref": root / "ref.obj", "same": root / "same.ply"}


def test_compare_api_shared_topology(faces: dict[str, Path]) -> None:
    pred, _ = metrics.load_mesh(faces["pred"])
    ref, _ = metrics.load_mesh(faces["same"])
    fm = FaceModel.default()
    res = metrics.compare_meshes(pred, ref, regions=metrics.model_regions(fm))
    assert res.method == "procrustes"
    assert res.rigid.mean < 1e-3 and res.scaled.mean < 1e-3  # float32 files
    assert res.regions is not None and set(res.regions["rigid"]) >= {"nose", "ears", "face"}


def test_cli_compare_reports_the_known_change(faces: dict[str, Path], tmp_path: Path) -> None:
    png = tmp_path / "heat.png"
    code, out, err = run(["compare", str(faces["pred"]), str(faces["ref"]),
                          "--json", "--heatmap", str(png)])  # fmt: skip
    assert code == 0, err
    res = json.loads(out)
    assert res["method"] == "procrustes"
    rows = res["regions"]["rigid"]
    # a 2 mm bump on the nose only (a fraction f of the face): the best translation
    # alone moves everything by 2 f along z, leaving the nose 2 (1 - f) off and the
    # rest 2 f; the rotation absorbs a little more of the bump
    n_nose = rows["nose"]["vertices"]
    f = n_nose / rows["face"]["vertices"]
    assert 2.0 * (1 - f) - 0.4 < rows["nose"]["mean"] <= 2.0 * (1 - f) + 1e-6
    assert all(rows[n]["mean"] < 2.0 * f + 0.3 for n in rows if n not in ("nose", "face"))
    assert res["rigid"]["mean"] == pytest.approx(rows["face"]["mean"], rel=1e-9)
    assert res["rigid"]["vertices"] == rows["face"]["vertices"] > 4 * n_nose
    image = read_png(png)
    assert image.shape == (384, 768, 3)
    # the nose (red end of the scale) stands out: some strongly red pixels exist
    assert np.any((image[..., 0] > 180) & (image[..., 2] < 80))
    code, _, err = run(["compare", str(faces["pred"]), str(faces["ref"]), "--heatmap", str(png)])
    assert code == 1 and "exists" in err and err.count("\n") == 1


def test_cli_compare_text_output(faces: dict[str, Path]) -> None:
    code, out, _ = run(["compare", str(faces["pred"]), str(faces["same"])])
    assert code == 0
    assert "procrustes" in out and "forehead" in out and "with scale" in out


@pytest.mark.slow
def test_cli_compare_icp_with_landmarks(tmp_path: Path) -> None:
    # a coarse "scan" (every 6th grid row and column of the default face's front) moved
    # by 20 degrees, against a finer prediction of the same surface (every 2nd row and
    # column): the prediction's vertices lie on the scan's surface up to the chords'
    # sag, so after ICP the error is a small fraction of a millimetre
    fine, fine_tris = face_grid(2)
    scan, tris = face_grid(6)
    r, t = rotation([0.0, 0.35, 0.1]), np.array([10.0, 0.0, -5.0])
    save_mesh(tmp_path / "pred.ply", fine, fine_tris)
    save_mesh(tmp_path / "scan.ply", scan @ r.T + t, tris)
    lm = np.arange(0, len(scan), len(scan) // 20)  # 20 scan vertices, also fine-grid vertices
    np.savetxt(tmp_path / "scan_lm.txt", scan[lm] @ r.T + t)
    np.savetxt(tmp_path / "pred_lm.txt", scan[lm] + [0.5, -0.5, 0.5])  # a rough guess
    argv = ["compare", str(tmp_path / "pred.ply"), str(tmp_path / "scan.ply"), "--json"]
    argv += ["--ref-landmarks", str(tmp_path / "scan_lm.txt")]
    code, out, err = run([*argv, "--pred-landmarks", str(tmp_path / "pred_lm.txt")])
    assert code == 0, err
    res = json.loads(out)
    assert res["method"] == "icp" and res["regions"] is None
    assert res["rigid"]["median"] < 0.1 and res["rigid"]["mean"] < 0.2
    np.testing.assert_allclose(res["rigid"]["alignment"]["rotation"], r, atol=2e-3)
    np.testing.assert_allclose(res["rigid"]["alignment"]["translation"], t, atol=0.2)
    assert res["scaled"]["alignment"]["scale"] == pytest.approx(1.0, abs=2e-3)


def test_cli_compare_errors(faces: dict[str, Path], tmp_path: Path) -> None:
    code, _, err = run(["compare", str(tmp_path / "none.ply"), str(faces["ref"])])
    assert code == 1 and "no such file" in err
    (tmp_path / "bad.ply").write_bytes(b"ply\nformat nonsense\n")
    code, _, err = run(["compare", str(tmp_path / "bad.ply"), str(faces["ref"])])
    assert code == 1 and "cannot read the mesh" in err and err.count("\n") == 1
    code, _, err = run(["compare", str(faces["pred"]), str(tmp_path / "x.wrl")])
    assert code == 1 and "unknown mesh suffix" in err
    (tmp_path / "lm.txt").write_text("1 2\n")
    code, _, err = run(["compare", str(faces["pred"]), str(faces["ref"]),
                        "--ref-landmarks", str(tmp_path / "lm.txt")])  # fmt: skip
    assert code == 1 and "lm.txt" in err
    with pytest.raises(MeshError, match="no vertices"):
        (tmp_path / "empty.obj").write_text("# nothing\n")
        metrics.load_mesh(tmp_path / "empty.obj")
