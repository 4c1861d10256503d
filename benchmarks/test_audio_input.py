"""Audio input speed against the alternatives, in the same run (issue 11).

Run: ``python -m pytest benchmarks/test_audio_input.py --benchmark-only``. Groups:

- ``resample 10s 48k->16k``: cmp_edge (libsoxr HQ, incremental), scipy.signal.resample_poly
  (what cmp-edge used before), librosa.resample (soxr_hq);
- ``front end 60s 44.1k``: the incremental front end (decode -> resample -> VAD ->
  log-mel, bounded memory) against the whole-array path (load, then cmp_features).

Memory against duration and CLI wall per input rate need fresh processes: see
``python -m benchmarks.field_audio`` (tables in docs/benchmarks.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cmp_edge.audio import load, resample
from cmp_edge.audio.resampler import Resampler
from cmp_edge.features import cmp_features
from cmp_edge.runtime.frontend import FrontEnd, analyse, file_source
from tests.runtime.helpers import synthetic_voice


@pytest.fixture(scope="module")
def x48() -> np.ndarray:
    return resample(synthetic_voice(10.0), 16000, 48000)


@pytest.mark.benchmark(group="resample 10s 48k->16k")
def test_resample_soxr_incremental(benchmark, x48: np.ndarray) -> None:  # noqa: ANN001
    def run() -> np.ndarray:
        r = Resampler(48000, 16000)
        parts = [r.accept(x48[i : i + 65536]) for i in range(0, x48.size, 65536)]
        return np.concatenate([*parts, r.finish()])

    assert benchmark(run).shape == (160000,)


@pytest.mark.benchmark(group="resample 10s 48k->16k")
def test_resample_scipy_poly(benchmark, x48: np.ndarray) -> None:  # noqa: ANN001
    from scipy.signal import resample_poly

    assert benchmark(resample_poly, x48, 1, 3).shape == (160000,)


@pytest.mark.benchmark(group="resample 10s 48k->16k")
def test_resample_librosa(benchmark, x48: np.ndarray) -> None:  # noqa: ANN001
    librosa = pytest.importorskip("librosa")
    out = benchmark(librosa.resample, x48, orig_sr=48000, target_sr=16000)
    assert out.shape == (160000,)


@pytest.fixture(scope="module")
def wav44(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import soundfile as sf

    path = tmp_path_factory.mktemp("bench") / "speech44.wav"
    sf.write(str(path), resample(synthetic_voice(60.0), 16000, 44100), 44100, subtype="PCM_16")
    return path


@pytest.mark.benchmark(group="front end 60s 44.1k")
def test_front_end_incremental(benchmark, wav44: Path) -> None:  # noqa: ANN001
    result = benchmark(analyse, file_source(wav44), FrontEnd(channel="mix"), "speech44.wav")
    assert result.frames.shape[1] == 64


@pytest.mark.benchmark(group="front end 60s 44.1k")
def test_front_end_whole_array(benchmark, wav44: Path) -> None:  # noqa: ANN001
    def run() -> np.ndarray:
        x, sr = load(wav44)
        return cmp_features(x, sr, pad_to=None)

    assert benchmark(run).shape[1] == 64
