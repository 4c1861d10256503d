"""Native threads (kind 5): no termination when a thread cannot start, bounded counts,
no oversubscription in batches."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs 2 cores to start a worker thread")
def test_parallel_loop_falls_back_when_threads_cannot_start() -> None:
    code = "from tests.hostile.threads_child import render_without_thread_stacks as f; f()"
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr[-3000:]}"
    assert proc.stdout.strip() == "ok"


def test_huge_thread_counts_are_clamped() -> None:
    from cmp_edge.facemodel import FaceModel
    from cmp_edge.output.render import render_mesh

    rng = np.random.default_rng(0)
    verts = rng.uniform(-1, 1, (50, 3)).astype(np.float32)
    tris = rng.integers(0, 50, (60, 3)).astype(np.int32)
    ref = render_mesh(verts, tris, size=64, threads=1)
    np.testing.assert_array_equal(render_mesh(verts, tris, size=64, threads=1 << 40), ref)
    fm = FaceModel(verts, rng.standard_normal((150, 4)), None, tris)
    coeffs = rng.standard_normal(4)
    np.testing.assert_array_equal(
        fm.reconstruct(coeffs, threads=1 << 40), fm.reconstruct(coeffs, threads=1)
    )


def test_batch_workers_share_the_cores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """predict_batch: N workers reconstruct with cores // N threads each, not all cores."""
    import soundfile as sf

    from cmp_edge import _native
    from cmp_edge.facemodel import FaceModel
    from cmp_edge.runtime.reconstructor import Reconstructor
    from tests.hostile.bundles import metadata, tiny_face_model, write_bundle
    from tests.runtime.helpers import synthetic_voice

    tiny_face_model().save(tmp_path / "m.facemodel.npz")
    model = write_bundle(tmp_path / "m.onnx", metadata(face_model_file="m.facemodel.npz"))
    paths = []
    for k in range(4):
        paths.append(tmp_path / f"v{k}.wav")
        sf.write(str(paths[-1]), synthetic_voice(1.5, seed=k), 16000, subtype="PCM_16")
    seen: list[int | None] = []
    real = FaceModel.reconstruct

    def spy(self, *args, threads=None, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        seen.append(threads)
        return real(self, *args, threads=threads, **kwargs)

    monkeypatch.setattr(FaceModel, "reconstruct", spy)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    monkeypatch.setattr(_native, "available_cores", lambda: 8)
    rec = Reconstructor(model)
    faces = rec.predict_batch(paths, workers=4)
    assert len(faces) == 4 and seen == [2, 2, 2, 2]
    seen.clear()
    rec.predict_file(paths[0])  # outside a batch: the Reconstructor's own setting
    assert seen == [rec.threads] == [8]
    with pytest.raises(Exception, match="workers"):
        rec.predict_batch(paths, workers=True)  # type: ignore[arg-type]
