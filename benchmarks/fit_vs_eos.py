"""fit_landmarks against eos (Huber et al.), the reference landmark fitter, on the SFM.

Run: ``pip install eos-py==1.5.0 && python -m benchmarks.fit_vs_eos`` (needs
../shared/data/sfm). Random SFM identities (neutral expression), one image each at
yaw +-45, pitch +-15, roll +-10 degrees, 2 px per mm, the SFM's 51 ibug points with
1 px noise; whole-head error up to centroid and size (``scaled_vertex_rmse``), mm.
eos fits shape and its 6 expression blendshapes (``fit_shape_and_pose``, defaults).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from cmp_edge.facemodel import FaceModel
from cmp_edge.fitting import euler_rotation, fit_landmarks
from cmp_edge.fitting.synthetic import project_landmarks, scaled_vertex_rmse

SFM = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "sfm"
W, H = 640, 480


def main(trials: int = 20) -> None:
    """Print the mean errors and times per fit."""
    import eos

    sfm = FaceModel.load(SFM / "sfm_shape_3448.bin")
    shape_model = eos.morphablemodel.load_model(str(SFM / "sfm_shape_3448.bin"))
    blend = eos.morphablemodel.load_blendshapes(str(SFM / "expression_blendshapes_3448.bin"))
    model = eos.morphablemodel.MorphableModel(
        shape_model.get_shape_model(),
        blend,
        color_model=eos.morphablemodel.PcaModel(),
        vertex_definitions=None,
        texture_coordinates=shape_model.get_texture_coordinates(),
    )
    mapper = eos.core.LandmarkMapper(str(SFM / "ibug_to_sfm.txt"))
    pca = model.get_shape_model()
    rng = np.random.default_rng(0)
    errors: dict[str, list[float]] = {"mean face": [], "eos": [], "ours": [], "ours, no expr": []}
    seconds = {"eos": 0.0, "ours": 0.0}
    for _ in range(trials):
        a = rng.normal(size=sfm.n_shape) * sfm.shape_std
        truth = sfm.reconstruct(a)
        rot = euler_rotation(rng.uniform(-45, 45), rng.uniform(-15, 15), rng.uniform(-10, 10))
        p = project_landmarks(sfm, a, None, rot, 2.0, (W / 2, H / 2, 0), (W, H))
        p = p + rng.normal(0, 1.0, p.shape)
        marks = [
            eos.core.Landmark(str(k + 1), [float(p[k, 0]), float(p[k, 1])])
            for k in range(68)
            if np.isfinite(p[k, 0])
        ]
        t = time.perf_counter()
        _, _, coeffs, _ = eos.fitting.fit_shape_and_pose(model, marks, mapper, W, H)
        seconds["eos"] += time.perf_counter() - t
        t = time.perf_counter()
        ours = fit_landmarks(sfm, p, (W, H))
        seconds["ours"] += time.perf_counter() - t
        plain = fit_landmarks(sfm, p, (W, H), n_expr=0)
        errors["mean face"].append(scaled_vertex_rmse(sfm.mean, truth))
        errors["eos"].append(
            scaled_vertex_rmse(np.reshape(pca.draw_sample(coeffs), (-1, 3)), truth)
        )
        errors["ours"].append(scaled_vertex_rmse(sfm.reconstruct(ours.shape), truth))
        errors["ours, no expr"].append(scaled_vertex_rmse(sfm.reconstruct(plain.shape), truth))
    print(" | ".join(f"{k} {np.mean(v):.2f} mm" for k, v in errors.items()))
    print(" | ".join(f"{k} {1000 * v / trials:.0f} ms per fit" for k, v in seconds.items()))


if __name__ == "__main__":
    main()
