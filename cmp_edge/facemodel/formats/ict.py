"""ICT Face Model Light reader: the ``FaceXModel`` folder of the public ICT-FaceKit.

Folder layout (USC ICT Vision and Graphics Lab, 2020, MIT licence):
``generic_neutral_mesh.obj`` (the mean head, 26,719 vertices, mostly quads),
``identity000.obj`` ... ``identity099.obj`` (the neutral mesh displaced by one
standard deviation of one identity principal component, ordered by variance),
one OBJ per expression blendshape (the neutral mesh with the expression fully
applied, weights used in [0, 1]) and ``vertex_indices.json`` (the expression
list, the 68 ibug landmark vertices in ibug order, fitting and rigid vertices).
Only the ``v`` lines of the mode files are read, so the full originals and the
vertex-only copies read alike.

What the reader returns (see :func:`read_ict`):

- coordinates in millimetres (the files are in centimetres: x 10);
- the axes unchanged, which are cmp-edge's: y up, +z out of the face, +x to the
  subject's left, i.e. the viewer's right, so ``*_left`` landmarks have x < 0;
- polygons fan-triangulated, keeping the files' counter-clockwise order;
- ``shape_basis[:, i] = (identity_i - neutral) x 10`` (100 columns; a
  coefficient ~ N(0, 1) is the prior, so ``shape_std`` is ones);
- ``expr_basis[:, k] = (blendshape_k - neutral) x 10`` for the expressions that
  ``vertex_indices.json`` lists, in its order (53 in ICT-FaceKit; weights in
  [0, 1], ``expr_std`` ones);
- landmarks ``ibug_00`` ... ``ibug_67`` (``idx_to_landmark_verts``) and the
  five ARE pairs of :func:`~cmp_edge.facemodel.formats.ict_rules.are_landmarks`;
- the vertex regions of :data:`~cmp_edge.facemodel.formats.ict_rules.ICT_REGIONS`.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np

from cmp_edge.errors import FaceModelError
from cmp_edge.facemodel.formats._data import ModelData, model_data
from cmp_edge.facemodel.formats.ict_rules import ICT_REGIONS, are_landmarks, region_indices

__all__ = [
    "ICT_ID",
    "MAX_OBJ_BYTES",
    "NEUTRAL_FILE",
    "is_ict_folder",
    "read_ict",
    "read_ict_meta",
    "read_obj_polygons",
    "read_obj_vertices",
]

ICT_ID = "ict-facekit"
NEUTRAL_FILE = "generic_neutral_mesh.obj"
INDEX_FILE = "vertex_indices.json"
CM_TO_MM = 10.0
N_IDENTITY = 100
MAX_OBJ_BYTES = 64 << 20
"""Largest OBJ file read (the ICT files are ~0.7-3 MB); larger ones are refused."""
MAX_JSON_BYTES = 4 << 20
_NAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")


def is_ict_folder(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is a folder holding the ICT neutral mesh and vertex_indices.json."""
    p = Path(path)
    return (p / NEUTRAL_FILE).is_file() and (p / INDEX_FILE).is_file()


def _read_text(path: Path, limit: int) -> bytes:
    try:
        size = path.stat().st_size
        if size > limit:
            raise FaceModelError(
                f"{path}: {size} bytes is larger than the {limit} allowed for this file; "
                "is it the ICT-FaceKit file?"
            )
        return path.read_bytes()
    except FileNotFoundError:
        raise FaceModelError(f"{path}: missing from the ICT FaceXModel folder") from None
    except OSError as exc:
        raise FaceModelError(f"{path}: cannot read ({exc.strerror})") from None


def read_obj_vertices(path: str | os.PathLike[str], expected: int | None = None) -> np.ndarray:
    """The ``v`` lines of an OBJ file as (N, 3) float64, in the file's units.

    Args:
        path: the OBJ file (at most :data:`MAX_OBJ_BYTES`).
        expected: the vertex count it must have (the neutral mesh's), or None.

    Raises:
        FaceModelError: unreadable, too large, malformed, non-finite or of the wrong size.
    """
    p = Path(path)
    lines = [ln for ln in _read_text(p, MAX_OBJ_BYTES).splitlines() if ln.startswith(b"v ")]
    if not lines:
        raise FaceModelError(f"{p}: no vertex ('v') lines; not an OBJ mesh")
    if expected is not None and len(lines) != expected:
        raise FaceModelError(
            f"{p}: {len(lines)} vertices but the neutral mesh has {expected}; "
            "all files must come from the same ICT FaceXModel folder"
        )
    tokens = b" ".join(ln[2:] for ln in lines).split()
    if len(tokens) != 3 * len(lines):  # extra w or colour values: keep the first three
        rows = [ln.split()[1:4] for ln in lines]
        if any(len(r) != 3 for r in rows):
            raise FaceModelError(f"{p}: a vertex line has fewer than 3 coordinates")
        tokens = [t for r in rows for t in r]
    try:
        v = np.array(tokens, dtype=np.float64).reshape(-1, 3)
    except ValueError:
        raise FaceModelError(f"{p}: a vertex line holds something other than numbers") from None
    if not np.all(np.isfinite(v)):
        raise FaceModelError(f"{p}: vertex coordinates contain NaN or infinity")
    return v


def read_obj_polygons(path: str | os.PathLike[str], n_vertices: int) -> np.ndarray:
    """The ``f`` lines of an OBJ file fan-triangulated: (F, 3) int32, 0-based.

    A polygon (a, b, c, d) becomes (a, b, c), (a, c, d), keeping its winding;
    texture and normal indices (``a/t/n``) are ignored, negative (relative)
    indices are resolved.

    Raises:
        FaceModelError: a face with fewer than 3 corners or an index outside [0, n_vertices).
    """
    p = Path(path)
    tris: list[tuple[int, int, int]] = []
    try:
        for ln in _read_text(p, MAX_OBJ_BYTES).splitlines():
            if not ln.startswith(b"f "):
                continue
            idx = [int(t.split(b"/", 1)[0]) for t in ln.split()[1:]]
            if len(idx) < 3:
                raise FaceModelError(f"{p}: a face with {len(idx)} corners")
            idx = [i - 1 if i > 0 else n_vertices + i for i in idx]
            tris.extend((idx[0], idx[k], idx[k + 1]) for k in range(1, len(idx) - 1))
    except ValueError as exc:
        if isinstance(exc, FaceModelError):
            raise
        raise FaceModelError(f"{p}: a face line holds something other than indices") from None
    if not tris:
        raise FaceModelError(f"{p}: no faces ('f' lines); the neutral mesh needs them")
    out = np.array(tris, dtype=np.int64)
    if out.min() < 0 or out.max() >= n_vertices:
        raise FaceModelError(f"{p}: face indices outside the {n_vertices} vertices")
    return out.astype(np.int32)


def read_ict_meta(folder: str | os.PathLike[str], n_vertices: int) -> tuple[list[str], list[int]]:
    """Expression names and the 68 ibug landmark vertices from ``vertex_indices.json``.

    Raises:
        FaceModelError: missing or malformed file, odd names, indices out of range.
    """
    p = Path(folder) / INDEX_FILE
    try:
        meta = json.loads(_read_text(p, MAX_JSON_BYTES))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FaceModelError(f"{p}: not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise FaceModelError(f"{p}: expected a JSON object")
    names = meta.get("expressions")
    if not isinstance(names, list) or not all(isinstance(n, str) and _NAME.match(n) for n in names):
        raise FaceModelError(
            f"{p}: 'expressions' must be a list of file stems (letters, digits, _)"
        )
    if len(set(names)) != len(names) or len(names) > 256:
        raise FaceModelError(f"{p}: 'expressions' repeats names or lists over 256")
    lms = meta.get("idx_to_landmark_verts")
    if not isinstance(lms, list) or len(lms) != 68 or not all(isinstance(i, int) for i in lms):
        raise FaceModelError(f"{p}: 'idx_to_landmark_verts' must be 68 integer vertex indices")
    if min(lms) < 0 or max(lms) >= n_vertices:
        raise FaceModelError(f"{p}: landmark vertices outside the mesh's {n_vertices}")
    return names, lms


def read_ict(
    folder: str | os.PathLike[str],
    n_identity: int = N_IDENTITY,
    expressions: bool = True,
) -> ModelData:
    """Read the ICT Face Model Light from its ``FaceXModel`` folder (see the module doc).

    Args:
        folder: the folder holding ``generic_neutral_mesh.obj`` and the mode files
            (or the ICT-FaceKit folder with it as ``FaceXModel/``).
        n_identity: how many identity modes to read (the first ``n_identity``, 0-100).
        expressions: read the blendshapes of ``vertex_indices.json`` (else no expressions).

    Returns:
        The keyword arguments of ``FaceModel``: 26,719 vertices in mm, (3N,
        n_identity) and (3N, 53) float32 bases, id ``"ict-facekit"``.

    Raises:
        FaceModelError: a missing, oversized or malformed file, or files of different sizes.
    """
    root = Path(folder)
    if not is_ict_folder(root) and is_ict_folder(root / "FaceXModel"):
        root = root / "FaceXModel"  # the ICT-FaceKit checkout itself
    if not root.is_dir():
        raise FaceModelError(f"{root}: not a folder; pass the ICT-FaceKit FaceXModel folder")
    if not 0 <= int(n_identity) <= N_IDENTITY:
        raise FaceModelError(f"n_identity must be in [0, {N_IDENTITY}], got {n_identity}")
    neutral = read_obj_vertices(root / NEUTRAL_FILE)
    n = neutral.shape[0]
    triangles = read_obj_polygons(root / NEUTRAL_FILE, n)
    names, ibug = read_ict_meta(root, n)
    if n <= ICT_REGIONS["eye_accessories"][1]:
        raise FaceModelError(
            f"{root / NEUTRAL_FILE}: {n} vertices; the ICT Face Model Light has "
            f"{ICT_REGIONS['eye_accessories'][1] + 1}"
        )

    def modes(stems: list[str]) -> np.ndarray:
        basis = np.empty((3 * n, len(stems)), dtype=np.float32)
        for k, stem in enumerate(stems):
            v = read_obj_vertices(root / f"{stem}.obj", expected=n)
            basis[:, k] = ((v - neutral) * CM_TO_MM).reshape(-1)
        return basis

    identity = [f"identity{i:03d}" for i in range(int(n_identity))]
    expr_names = names if expressions else []
    shape_basis, expr_basis = modes(identity), modes(expr_names)
    mean = neutral * CM_TO_MM
    landmarks = {f"ibug_{i:02d}": int(j) for i, j in enumerate(ibug)}
    regions = region_indices(n)
    landmarks.update(are_landmarks(mean, landmarks, regions.pop("skin"), where=str(root)))
    return model_data(
        mean.astype(np.float32),
        shape_basis,
        expr_basis,
        triangles,
        landmarks,
        units="mm",
        id=ICT_ID,
        source_scale=CM_TO_MM,
        shape_names=identity,
        expr_names=expr_names,
        regions=regions,
    )
