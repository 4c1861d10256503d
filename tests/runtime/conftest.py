"""Fixtures of the runtime tests: a tiny exported bundle, real and synthetic speech."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.runtime.helpers import SPEECH_FILES, export_tiny, synthetic_voice


@pytest.fixture(scope="session")
def face_model():  # noqa: ANN201
    from cmp_edge.facemodel import FaceModel

    return FaceModel.default()


@pytest.fixture(scope="session")
def bundle(tmp_path_factory: pytest.TempPathFactory, face_model) -> Path:  # noqa: ANN001
    """A tiny supervised-layout bundle made for the default face model."""
    return export_tiny(tmp_path_factory.mktemp("bundle") / "tiny.onnx", face_model)


@pytest.fixture(scope="session")
def rec(bundle: Path):  # noqa: ANN201
    from cmp_edge.runtime.reconstructor import Reconstructor

    return Reconstructor(bundle, threads=1)


@pytest.fixture(scope="session")
def speech_path(shared_data: Path) -> Path:
    return shared_data / SPEECH_FILES[0]


@pytest.fixture(scope="session")
def speech(speech_path: Path) -> tuple[np.ndarray, int]:
    import soundfile as sf

    x, sr = sf.read(str(speech_path), dtype="float32")
    return x, int(sr)


@pytest.fixture(scope="session")
def voice16k() -> np.ndarray:
    return synthetic_voice(3.0)


@pytest.fixture()
def voice_wav(tmp_path: Path) -> Path:
    import soundfile as sf

    path = tmp_path / "voice.wav"
    sf.write(str(path), synthetic_voice(2.5, seed=1), 16000, subtype="PCM_16")
    return path
