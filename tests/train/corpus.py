"""A tiny corpus in the Voxceleb-3D layout for the trainer tests (no train.synth needed).

Each identity has random 3DMM parameters; its utterances are noise plus a pattern whose
strength depends on the first shape parameters, so voice predicts geometry.
"""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import numpy as np

FIRST_TEST = "ABCDE"
FIRST_TRAIN = "FGHJKLMNPRSTW"


def write_png(path: Path, image: np.ndarray) -> None:
    """8-bit RGB PNG (filter 0) without third-party packages."""
    h, w, _ = image.shape
    raw = b"".join(b"\x00" + image[y].tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def make_corpus(
    root: Path,
    n_train: int = 6,
    n_test: int = 3,
    utterances: int = 3,
    faces: int = 2,
    frames: int = 120,
    image_size: int = 32,
    seed: int = 0,
    other_scale: float = 1.0,
) -> Path:
    """Write the corpus under ``root`` and return it.

    ``other_scale`` multiplies the parameters the voices do not carry (shape[4:], expr).
    """
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    rows = ["VoxCeleb1 ID\tVGGFace1 ID\tGender\tNationality\tSet"]
    pattern = rng.normal(size=(4, 64)).astype(np.float32)
    names = [f"{FIRST_TRAIN[i % len(FIRST_TRAIN)]}train_{i}" for i in range(n_train)]
    names += [f"{FIRST_TEST[i % len(FIRST_TEST)]}test_{i}" for i in range(n_test)]
    for i, name in enumerate(names):
        vox = f"id{10001 + i}"
        gender = "m" if i % 2 == 0 else "f"
        rows.append(f"{vox}\t{name}\t{gender}\tUSA\t{'test' if name[0] in FIRST_TEST else 'dev'}")
        params = np.zeros(228, np.float32)
        params[:40] = rng.normal(size=40)
        params[4:40] *= other_scale
        params[199:209] = 0.3 * other_scale * rng.normal(size=10)
        params[:4] += 1.5 if gender == "m" else -1.5
        for u in range(utterances):
            folder = root / "preprocessed_MFCC" / vox / f"yt{u % 2}"
            folder.mkdir(parents=True, exist_ok=True)
            t = frames + 10 * u
            x = rng.normal(size=(t, 64)).astype(np.float32) * 0.5
            x += params[:4] @ pattern
            np.save(folder / f"{u:05d}.npy", x.astype(np.float32))
        face_dir = root / "faces" / name
        face_dir.mkdir(parents=True, exist_ok=True)
        for k in range(faces):
            np.save(face_dir / f"{k}.npy", params)
            level = np.clip(128 + 30 * params[:3], 0, 255).astype(np.uint8)
            img = np.broadcast_to(level, (image_size, image_size, 3)).copy()
            img[: image_size // 2] //= 2
            write_png(face_dir / f"{k}.png", img)
            np.savetxt(face_dir / f"{k}.xyz", rng.normal(size=(5, 3)))
    (root / "vox1_meta.csv").write_text("\n".join(rows) + "\n")
    (root / "synth.json").write_text(json.dumps({"face_model_id": "test-face-model"}))
    return root
