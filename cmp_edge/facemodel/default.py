"""The embedded default face model: a procedural, synthetic stand-in.

``build_default()`` generates the model deterministically from closed-form
formulas (no data file, no third-party data, no randomness): a smooth head and
face surface on a latitude/longitude grid with a nose, brow ridge, eye
sockets, cheekbones, lips, chin, jaw line and ears, plus 40 shape and 10
expression deformation modes.

Geometry conventions (millimetres): y up, +z out of the face, x to the
viewer's right when looking at the face (the subject's left). The head
centre is near the origin; the eyes are at y ~ +28 mm, the nose tip at
y ~ -3 mm, the mouth at y ~ -36 mm and the chin at y ~ -78 mm. The face is
about 150 mm wide.

Modes: each raw deformation field is made orthogonal to the previous ones of
its kind (Cholesky QR, in order: the 40 shape fields among themselves, the 10
expression fields among themselves), scaled so a
coefficient of 1 moves its most-moved vertex by a chosen peak distance, and
the shape and expression columns are then each sorted by decreasing norm
(variance). Coefficients distributed N(0, 1) are therefore the prior.

This is *not* the Basel Face Model or any other scanned model; its id is
``cmp-edge-synthetic-v1``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["DEFAULT_ID", "DefaultModelData", "build_default"]

DEFAULT_ID = "cmp-edge-synthetic-v1"

# grid resolution: azimuth (columns) x elevation (rows) = 256 x 196 = 50,176 vertices
_N_THETA = 256
_N_PHI = 196
_THETA_MAX = np.deg2rad(115.0)
_PHI_MIN = np.deg2rad(-66.0)
_PHI_MAX = np.deg2rad(80.0)
# base ellipsoid semi-axes (mm): half width, half height, depth
_AX, _AY, _AZ = 76.0, 108.0, 92.0

F64 = np.float64


@dataclass(frozen=True)
class DefaultModelData:
    """Arrays of the default model (see :class:`cmp_edge.facemodel.FaceModel`)."""

    mean: np.ndarray  # (N, 3) float32, mm
    shape_basis: np.ndarray  # (3N, 40) float32, xyz interleaved rows
    expr_basis: np.ndarray  # (3N, 10) float32
    triangles: np.ndarray  # (F, 3) int32
    landmarks: dict[str, int]
    shape_names: tuple[str, ...]
    expr_names: tuple[str, ...]


def _g(x: np.ndarray, c: float, w: float) -> np.ndarray:
    """Gaussian bump exp(-((x - c) / w)^2)."""
    t = (x - c) / w
    return np.exp(-t * t)


def _smoothstep(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    t = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _grid_triangles(n_rows: int, n_cols: int) -> np.ndarray:
    """Two triangles per grid cell, counter-clockwise seen from outside."""
    r, c = np.meshgrid(np.arange(n_rows - 1), np.arange(n_cols - 1), indexing="ij")
    v00 = (r * n_cols + c).ravel()
    v01 = v00 + 1  # next azimuth column
    v10 = v00 + n_cols  # next elevation row
    v11 = v10 + 1
    tri = np.empty((2 * v00.size, 3), dtype=np.int32)
    tri[0::2, 0], tri[0::2, 1], tri[0::2, 2] = v00, v01, v11
    tri[1::2, 0], tri[1::2, 1], tri[1::2, 2] = v00, v11, v10
    return tri


def _grid_normals(p: np.ndarray) -> np.ndarray:
    """Unit normals of a (rows, cols, 3) grid surface (outward)."""
    d_col = np.gradient(p, axis=1)
    d_row = np.gradient(p, axis=0)
    n = np.cross(d_col, d_row)
    n /= np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-12)
    return n


def _surface() -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Mean surface on the grid (rows, cols, 3), its normals and feature masks."""
    theta = np.linspace(-_THETA_MAX, _THETA_MAX, _N_THETA)
    phi = np.linspace(_PHI_MIN, _PHI_MAX, _N_PHI)
    cp, sp = np.cos(phi)[:, None], np.sin(phi)[:, None]
    ct, st = np.cos(theta)[None, :], np.sin(theta)[None, :]
    y = _AY * sp * np.ones_like(st)
    # lower face narrower (jaw taper) and less deep towards the neck
    taper = 1.0 - 0.30 * _smoothstep(-y, 5.0, 100.0)
    x = _AX * cp * st * taper
    z = _AZ * cp * ct * (1.0 - 0.12 * _smoothstep(-y, 30.0, 100.0))
    base = np.stack([x, y, z], axis=-1)
    nrm = np.stack([x / _AX**2, y / _AY**2, z / _AZ**2], axis=-1)
    nrm /= np.linalg.norm(nrm, axis=-1, keepdims=True)

    front = _smoothstep(z / _AZ, 0.25, 0.6)
    ax = np.abs(x)
    m: dict[str, np.ndarray] = {"front": front}
    # nose: ridge from the nasion (y=30) to the tip (y=-3), dropping to the lip
    nose_h = np.interp(
        y, [-16.0, -9.0, -3.0, 10.0, 22.0, 31.0, 40.0], [0.0, 12.0, 24.0, 15.0, 7.0, 4.0, 0.0]
    )
    nose_w = np.interp(y, [-16.0, -5.0, 10.0, 30.0], [13.0, 14.0, 9.0, 7.0])
    m["nose"] = front * nose_h / 24.0 * np.exp(-((x / nose_w) ** 2))
    m["alae"] = front * _g(ax, 15.0, 6.0) * _g(y, -8.0, 6.0)
    m["socket"] = front * _g(ax, 32.0, 15.0) * _g(y, 27.0, 9.0)
    m["eyeball"] = front * _g(ax, 32.0, 10.0) * _g(y, 27.5, 6.0)
    m["upper_lid"] = front * _g(ax, 32.0, 10.0) * _g(y, 30.0, 3.5)
    m["brow"] = front * _g(ax, 31.0, 20.0) * _g(y, 43.0, 6.5)
    m["forehead"] = front * _smoothstep(y, 45.0, 75.0)
    m["cheekbone"] = front * _g(ax, 48.0, 15.0) * _g(y, 8.0, 13.0)
    m["cheek_low"] = front * _g(ax, 42.0, 14.0) * _g(y, -28.0, 14.0)
    m["lips"] = front * _g(x, 0.0, 24.0) * _g(y, -36.0, 9.0)
    m["slit"] = front * np.exp(-((x / 23.0) ** 4)) * _g(y, -36.0, 1.6)
    m["corners"] = front * _g(ax, 24.0, 7.0) * _g(y, -36.0, 6.0)
    m["chin"] = front * _g(x, 0.0, 26.0) * _g(y, -72.0, 14.0)
    m["jawline"] = front * _g(ax, 50.0, 12.0) * _g(y, -58.0, 14.0)
    m["temple"] = _g(ax, 66.0, 10.0) * _g(y, 35.0, 18.0) * _smoothstep(z, -10.0, 20.0)
    m["lower_face"] = _smoothstep(-y, 20.0, 45.0)
    m["below_mouth"] = _smoothstep(-y, 36.0, 41.0) * _smoothstep(z, -20.0, 20.0)
    # ears: flat superelliptical flaps on the sides, centred at y=12, z=-8
    side = _smoothstep(ax, 60.0, 70.0)
    m["ear"] = side * np.exp(-(((y - 12.0) / 28.0) ** 4) - (((z + 8.0) / 15.0) ** 4))

    h = (
        24.0 * m["nose"]
        + 6.0 * m["alae"]
        - 10.0 * m["socket"]
        + 6.0 * m["eyeball"]
        + 5.0 * m["brow"]
        + 7.0 * m["cheekbone"]
        + 6.0 * m["lips"]
        - 3.0 * m["slit"]
        + 16.0 * m["chin"]
        + 4.0 * m["jawline"]
        - 4.0 * m["temple"]
        + 16.0 * m["ear"]
        + 6.0 * front * m["lower_face"] * _g(x, 0.0, 45.0)
    )
    p = base + h[..., None] * nrm
    m["X"], m["Y"], m["Z"] = x, y, z  # base (pre-feature) coordinates, used by the modes
    return p, _grid_normals(p), m


def _shape_fields(
    p: np.ndarray, n: np.ndarray, m: dict[str, np.ndarray]
) -> list[tuple[str, np.ndarray, float]]:
    """Raw shape deformation fields (rows, cols, 3) with their peak displacement (mm)."""
    x, y, z = p[..., 0], p[..., 1], p[..., 2]
    zero = np.zeros_like(x)
    sx = np.sign(x)
    front = m["front"]

    def vec(dx: np.ndarray, dy: np.ndarray, dz: np.ndarray) -> np.ndarray:
        return np.stack([dx, dy, dz], axis=-1)

    def nor(w: np.ndarray) -> np.ndarray:
        return n * w[..., None]

    fields = [
        ("face_width", vec(x, zero, zero), 9.0),
        ("face_height", vec(zero, y, zero), 9.0),
        ("head_depth", vec(zero, zero, z), 8.0),
        ("jaw_width", vec(x * m["lower_face"], zero, zero), 6.0),
        ("forehead", nor(m["forehead"] + 0.5 * m["brow"]), 5.0),
        ("cheeks", nor(m["cheekbone"] + m["cheek_low"]), 5.0),
        ("nose_size", nor(m["nose"] + 0.5 * m["alae"]), 5.0),
        ("chin", nor(m["chin"]), 5.0),
        ("brow_ridge", nor(m["brow"]), 4.0),
        ("lower_face_length", vec(zero, y * m["lower_face"], zero), 5.0),
        ("eye_spacing", vec(sx * (m["socket"] + m["eyeball"]), zero, zero), 4.0),
        ("nose_length", vec(zero, -m["nose"] - m["alae"], zero), 4.0),
        ("nose_width", vec(x * (m["alae"] + 0.3 * m["nose"]), zero, zero), 3.5),
        ("mouth_width", vec(x * m["lips"], zero, zero), 3.5),
        ("lip_fullness", nor(m["lips"]), 3.0),
        ("eye_depth", nor(-m["socket"]), 3.5),
        ("ear_size", nor(m["ear"]) + vec(zero, (y - 12.0) * m["ear"] * 0.3, zero), 4.0),
        ("skull_roundness", nor((1.0 - front) * _smoothstep(y, -20.0, 60.0)), 6.0),
        ("chin_height", vec(zero, -m["chin"], zero), 3.5),
        ("cheek_hollows", nor(-m["cheek_low"]), 3.0),
        ("temple_width", vec(x * m["temple"], zero, zero), 3.0),
        ("jaw_line", nor(m["jawline"]), 3.0),
        ("nose_bridge", nor(m["nose"] * _smoothstep(y, 5.0, 25.0)), 3.0),
        ("nose_tip_tilt", vec(zero, m["nose"] * _smoothstep(-y, -15.0, 3.0), zero), 3.0),
        ("face_asymmetry", vec(zero, zero, np.tanh(x / 40.0) * front), 2.5),
        ("eye_height", vec(zero, m["socket"] + m["eyeball"], zero), 2.5),
        ("mouth_height", vec(zero, m["lips"], zero), 2.5),
        ("ear_protrusion", vec(sx * m["ear"], zero, zero), 3.0),
    ]
    # low-frequency modes over the whole surface to reach 40
    u = np.arctan2(x, z) / np.pi  # azimuth in [-1, 1]
    v = y / _AY
    extra = [
        (1, 1),
        (2, 0),
        (0, 2),
        (1, 2),
        (2, 1),
        (3, 0),
        (0, 3),
        (2, 2),
        (3, 1),
        (1, 3),
        (4, 0),
        (0, 4),
    ]
    for i, (a, b) in enumerate(extra):
        lat = np.cos(a * np.pi * u) if a % 2 == 0 else np.sin(a * np.pi * u)
        w = lat * np.cos(b * np.pi * v * 0.8)
        fields.append((f"low_frequency_{i + 1}", nor(w), 2.0 - 0.1 * i))
    return fields


def _expr_fields(
    p: np.ndarray, n: np.ndarray, m: dict[str, np.ndarray]
) -> list[tuple[str, np.ndarray, float]]:
    x, y, z = p[..., 0], p[..., 1], p[..., 2]
    zero = np.zeros_like(x)
    sx = np.sign(x)

    def vec(dx: np.ndarray, dy: np.ndarray, dz: np.ndarray) -> np.ndarray:
        return np.stack([dx, dy, dz], axis=-1)

    def nor(w: np.ndarray) -> np.ndarray:
        return n * w[..., None]

    # jaw rotation about a hinge near the ears (y=10, z=-10): d = (0, -(z-zh), y-yh)
    jaw = m["below_mouth"] * m["front"] ** 0.5
    brow_band = m["front"] * _g(y, 45.0, 10.0) * _g(x, 0.0, 45.0)
    return [
        ("mouth_open", vec(zero, -(z + 10.0) * jaw, (y - 10.0) * jaw), 14.0),
        (
            "smile",
            vec(0.6 * sx * m["corners"], m["corners"], zero) + nor(0.5 * m["cheekbone"]),
            6.0,
        ),
        ("brow_raise", vec(zero, brow_band, zero), 5.0),
        ("pucker", vec(-0.4 * x / 24.0 * m["lips"], zero, m["lips"]), 6.0),
        ("frown", vec(-0.5 * sx * m["brow"], -m["brow"], zero), 4.0),
        ("mouth_sideways", vec(m["lips"] + 0.5 * m["chin"], zero, zero), 5.0),
        ("cheek_puff", nor(m["front"] * _g(np.abs(x), 36.0, 11.0) * _g(y, -32.0, 10.0)), 5.0),
        (
            "lip_stretch",
            vec(x / 24.0 * m["corners"], -0.4 * m["corners"], -0.5 * m["corners"]),
            4.0,
        ),
        ("eyes_close", vec(zero, -m["upper_lid"], zero), 3.0),
        ("jaw_sideways", vec(jaw, zero, zero), 4.0),
    ]


# ibug 68-point template in the face's frontal (x, y) plane (mm); index 0 is on
# the viewer's left (-x), as in image-based 68-point annotations.
def _ibug_template() -> np.ndarray:
    pts = np.zeros((68, 2))
    t = np.deg2rad(np.linspace(-90.0, 90.0, 17))
    pts[0:17, 0] = 70.0 * np.sin(t) * (0.85 + 0.15 * np.abs(np.sin(t)))
    pts[0:17, 1] = 18.0 - 96.0 * np.cos(t)
    brow_x = np.array([-56.0, -46.0, -35.0, -23.0, -13.0])
    brow_y = np.array([40.0, 45.0, 47.0, 46.0, 43.0])
    pts[17:22] = np.stack([brow_x, brow_y], 1)
    pts[22:27] = np.stack([-brow_x[::-1], brow_y[::-1]], 1)
    pts[27:31] = [[0.0, 30.0], [0.0, 20.0], [0.0, 10.0], [0.0, -3.0]]
    pts[31:36] = [[-13.0, -12.0], [-7.0, -13.0], [0.0, -14.0], [7.0, -13.0], [13.0, -12.0]]
    eye_l = [
        [-46.0, 27.0],
        [-38.0, 31.0],
        [-26.0, 31.0],
        [-19.0, 27.0],
        [-26.0, 24.5],
        [-38.0, 24.5],
    ]
    pts[36:42] = eye_l
    pts[42:48] = [
        [19.0, 27.0],
        [26.0, 31.0],
        [38.0, 31.0],
        [46.0, 27.0],
        [38.0, 24.5],
        [26.0, 24.5],
    ]
    pts[48:60] = [
        [-24.0, -36.0],
        [-15.0, -30.5],
        [-6.0, -29.0],
        [0.0, -29.5],
        [6.0, -29.0],
        [15.0, -30.5],
        [24.0, -36.0],
        [15.0, -42.0],
        [6.0, -44.0],
        [0.0, -44.5],
        [-6.0, -44.0],
        [-15.0, -42.0],
    ]
    pts[60:68] = [
        [-20.0, -36.0],
        [-8.0, -34.5],
        [0.0, -34.5],
        [8.0, -34.5],
        [20.0, -36.0],
        [8.0, -36.5],
        [0.0, -36.5],
        [-8.0, -36.5],
    ]
    return pts


def _landmarks(p: np.ndarray) -> dict[str, int]:
    """Named landmarks: nearest front vertex in the frontal (x, y) plane."""
    flat = p.reshape(-1, 3)
    cand = np.flatnonzero(flat[:, 2] > 20.0)
    xy = flat[cand, :2]
    named = {f"ibug_{i:02d}": q for i, q in enumerate(_ibug_template())}
    for side, sgn in (("left", -1.0), ("right", 1.0)):
        named[f"forehead_{side}"] = np.array([sgn * 40.0, 68.0])
        named[f"cheek_{side}"] = np.array([sgn * 52.0, -22.0])
        named[f"mid_{side}"] = np.array([sgn * 62.0, 5.0])
    names = list(named)
    targets = np.stack([named[k] for k in names])
    d2 = (xy * xy).sum(1)[None, :] - 2.0 * (targets @ xy.T)
    idx = cand[np.argmin(d2, axis=1)]
    out = {k: int(i) for k, i in zip(names, idx, strict=True)}
    out["oicd_left"], out["oicd_right"] = out["ibug_36"], out["ibug_45"]
    # ears: the most lateral vertex near the ear centre (y=12, z=-8)
    near = np.abs(flat[:, 1] - 12.0) + np.abs(flat[:, 2] + 8.0) < 6.0
    for side, sgn in (("left", -1.0), ("right", 1.0)):
        cand_e = np.flatnonzero(near & (np.sign(flat[:, 0]) == sgn))
        out[f"ear_{side}"] = int(cand_e[np.argmax(np.abs(flat[cand_e, 0]))])
    return out


def build_default() -> DefaultModelData:
    """Generate the default synthetic model (deterministic; about 0.1 s)."""
    p, n, m = _surface()
    fields = _shape_fields(p, n, m) + _expr_fields(p, n, m)
    n_vert = p.shape[0] * p.shape[1]
    n_modes = len(fields)
    # raw fields as float32 rows (K, 3N)
    rows = np.empty((n_modes, 3 * n_vert), dtype=np.float32)
    for k, (_, f, _) in enumerate(fields):
        rows[k] = f.reshape(-1)
    # Gram-Schmidt in field order as Cholesky QR: rows = L Q, Q = L^-1 rows
    # (the Gram matrix in float64 keeps the modes orthogonal to ~1e-7)
    rows64 = rows.astype(F64)
    gram = rows64 @ rows64.T
    del rows64
    # shape and expression modes are orthogonalised separately (block-diagonal Gram),
    # so that the expressions keep their meaning (mouth open stays a jaw drop)
    ks = n_modes - 10
    gram[:ks, ks:] = 0.0
    gram[ks:, :ks] = 0.0
    inv_lower = np.linalg.inv(np.linalg.cholesky(gram))
    # largest per-vertex displacement of each orthonormal mode (on every 2nd vertex)
    sub = rows.reshape(n_modes, n_vert, 3)[:, ::2, :].reshape(n_modes, -1)
    q_sub = (inv_lower.astype(np.float32) @ sub).reshape(n_modes, -1, 3)
    peak_unit = np.sqrt((q_sub.astype(F64) ** 2).sum(-1).max(-1))
    gain = np.array([pk for _, _, pk in fields]) / peak_unit  # = column norm after scaling
    order_s = np.argsort(-gain[:ks], kind="stable")
    order_e = ks + np.argsort(-gain[ks:], kind="stable")
    names = [nm for nm, _, _ in fields]

    def basis(order: np.ndarray) -> np.ndarray:
        mix = (inv_lower.T[:, order] * gain[order]).astype(np.float32)
        out = rows.T @ mix  # (3N, len(order)), C-ordered
        # flush the far Gaussian tails (< 1e-9 mm): no subnormal floats in the basis,
        # which would slow every consumer's arithmetic
        out[np.abs(out) < 1e-9] = 0.0
        return out

    return DefaultModelData(
        mean=np.ascontiguousarray(p.reshape(-1, 3), dtype=np.float32),
        shape_basis=basis(order_s),
        expr_basis=basis(order_e),
        triangles=_grid_triangles(_N_PHI, _N_THETA),
        landmarks=_landmarks(p),
        shape_names=tuple(names[i] for i in order_s),
        expr_names=tuple(names[i] for i in order_e),
    )
