"""Reconstructor: offline prediction against an independent NumPy pipeline, errors, threads."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from cmp_edge.errors import AudioError, FaceModelError, ModelError, NoSpeechError
from tests.runtime import reference as ref
from tests.runtime.helpers import export_tiny, synthetic_voice


def _reference_params(rec, samples16k: np.ndarray) -> np.ndarray:  # noqa: ANN001
    """Whitened params through the NumPy reference frontend and ONNX Runtime."""
    import onnxruntime as ort

    voiced = ref.vad_published(samples16k)
    feats = ref.repeat_pad(ref.normalize(ref.features_vectorised(voiced)), 1000)
    sess = ort.InferenceSession(str(rec.model_path), providers=["CPUExecutionProvider"])
    (out,) = sess.run(["params"], {"features": feats.T[None].copy()})
    return out[0]


def test_predict_real_speech_matches_reference(rec, speech) -> None:  # noqa: ANN001
    x, sr = speech
    assert sr == 16000
    face = rec.predict(x, sr)
    np.testing.assert_allclose(face.whitened, _reference_params(rec, x), atol=1e-4)
    assert face.vertices.dtype == np.float32
    assert face.vertices.shape == rec.face_model.mean.shape
    assert np.all(np.isfinite(face.vertices))
    assert face.face_model_id == rec.face_model.id
    assert set(face.timings) >= {"vad", "features", "model", "reconstruct", "total"}
    # parameters are un-whitened with the bundle statistics
    values = face.whitened.astype(np.float64) * rec.info.param_std + rec.info.param_mean
    np.testing.assert_allclose(face.params_vector(), values, rtol=1e-6, atol=1e-6)
    # vertices follow the face model's linear reconstruction
    fm = rec.face_model
    p = np.zeros(1 + fm.shape_basis.shape[1] + fm.expr_basis.shape[1])
    p[0], p[1:41] = values[0], values[1:41]
    p[1 + fm.shape_basis.shape[1] : 11 + fm.shape_basis.shape[1]] = values[41:51]
    expected = ref.reconstruct_numpy(fm.mean, fm.shape_basis, fm.expr_basis, p)
    np.testing.assert_allclose(face.vertices, expected, rtol=1e-4, atol=1e-3)
    assert 0 < face.voiced_s <= face.duration_s


def test_predict_file_equals_predict(rec, speech_path, speech) -> None:  # noqa: ANN001
    a = rec.predict_file(speech_path)
    b = rec.predict(*speech)
    np.testing.assert_allclose(a.whitened, b.whitened, atol=1e-6)
    assert "load" in a.timings and a.source == str(speech_path)


def test_predict_other_rates_and_int16(rec) -> None:  # noqa: ANN001
    x = synthetic_voice(2.0, sr=22050)
    face = rec.predict(x, 22050)
    assert np.all(np.isfinite(face.whitened))
    pcm = (synthetic_voice(2.0) * 32767).astype(np.int16)
    a = rec.predict(pcm, 16000)
    b = rec.predict(pcm.astype(np.float32) / 32768, 16000)
    np.testing.assert_allclose(a.whitened, b.whitened, atol=1e-6)
    stereo = np.stack([synthetic_voice(2.0)] * 2, axis=1)
    np.testing.assert_allclose(
        rec.predict(stereo, 16000).whitened, rec.predict(stereo[:, 0], 16000).whitened, atol=1e-6
    )


@pytest.mark.parametrize(
    ("samples", "error"),
    [
        (np.zeros(16000 * 2, np.float32), NoSpeechError),
        (np.full(5, 0.1, np.float32), NoSpeechError),
        (np.zeros(0, np.float32), AudioError),
        (np.array([0.1, np.nan] * 1000, np.float32), AudioError),
        (np.zeros((2, 2, 2), np.float32), AudioError),
        (np.array(["a", "b"]), AudioError),
    ],
)
def test_predict_bad_audio(rec, samples, error) -> None:  # noqa: ANN001
    with pytest.raises(error):
        rec.predict(samples, 16000)


def test_too_little_speech_and_bad_rate(rec) -> None:  # noqa: ANN001
    with pytest.raises(NoSpeechError, match="voiced speech"):
        rec.predict(synthetic_voice(0.3), 16000)
    with pytest.raises(AudioError, match="sample rate"):
        rec.predict(synthetic_voice(1.0), 0)


def test_missing_file(rec, tmp_path: Path) -> None:  # noqa: ANN001
    with pytest.raises(AudioError, match="not found"):
        rec.predict_file(tmp_path / "nope.wav")


def test_concurrent_predictions_match(rec) -> None:  # noqa: ANN001
    inputs = [synthetic_voice(2.0, f0=100 + 20 * k, seed=k) for k in range(4)]
    expected = [rec.predict(x, 16000).whitened for x in inputs]
    got: dict[int, np.ndarray] = {}

    def work(k: int) -> None:
        for _ in range(3):
            got[k] = rec.predict(inputs[k], 16000).whitened

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(4):
        np.testing.assert_array_equal(got[k], expected[k])


def test_predict_batch(rec, tmp_path: Path) -> None:  # noqa: ANN001
    import soundfile as sf

    paths = []
    for k in range(3):
        p = tmp_path / f"v{k}.wav"
        sf.write(str(p), synthetic_voice(2.0, f0=110 + 30 * k, seed=k), 16000)
        paths.append(p)
    silent = tmp_path / "silent.wav"
    sf.write(str(silent), np.zeros(16000, np.float32), 16000)
    faces = rec.predict_batch(paths, workers=2)
    for p, face in zip(paths, faces, strict=True):
        assert face.source == str(p)
        np.testing.assert_array_equal(face.whitened, rec.predict_file(p).whitened)
    with pytest.raises(NoSpeechError):
        rec.predict_batch([*paths, silent], workers=2)
    mixed = rec.predict_batch([paths[0], silent], workers=2, errors="return")
    assert isinstance(mixed[1], NoSpeechError)


def test_reconstructor_reports_providers(rec) -> None:  # noqa: ANN001
    assert rec.providers == ("CPUExecutionProvider",)
    assert "tiny.onnx" in repr(rec)


def test_face_model_mismatch(tmp_path: Path, face_model) -> None:  # noqa: ANN001
    from cmp_edge.runtime.reconstructor import Reconstructor

    other = export_tiny(tmp_path / "other.onnx", face_model, face_model_id="someone-elses-model")
    with pytest.raises(FaceModelError, match="someone-elses-model"):
        Reconstructor(other)
    with pytest.raises(FaceModelError, match="does not match"):
        Reconstructor(other, face_model=face_model)
    dims = export_tiny(
        tmp_path / "dims.onnx",
        face_model,
        face_model_dims='{"vertices": 12, "shape": 40, "expr": 10}',
    )
    with pytest.raises(FaceModelError, match="dimensions"):
        Reconstructor(dims)


def test_bad_models(tmp_path: Path, bundle) -> None:  # noqa: ANN001
    import onnx
    from onnx import TensorProto, helper

    from cmp_edge.runtime.reconstructor import Reconstructor

    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"this is not an onnx file")
    with pytest.raises(ModelError, match="not a loadable ONNX model"):
        Reconstructor(junk)
    with pytest.raises(ModelError, match="not found"):
        Reconstructor(tmp_path / "missing.onnx")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelError, match="holds no .onnx"):
        Reconstructor(empty)

    # a valid ONNX model with another input and no cmp-edge metadata
    node = helper.make_node("Relu", ["x"], ["y"])
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
    )
    other = tmp_path / "other.onnx"
    onnx.save(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8),
        str(other),
    )
    with pytest.raises(ModelError, match="not a cmp-edge model"):
        Reconstructor(other)
    # the same graph carrying valid cmp-edge metadata: rejected for its input
    model = onnx.load(str(other))
    for prop in onnx.load(str(bundle)).metadata_props:
        entry = model.metadata_props.add()
        entry.key, entry.value = prop.key, prop.value
    onnx.save(model, str(other))
    with pytest.raises(ModelError, match="model inputs are \\['x'\\]"):
        Reconstructor(other)


def test_bad_threads(bundle) -> None:  # noqa: ANN001
    from cmp_edge.runtime.reconstructor import Reconstructor

    with pytest.raises(ModelError, match="threads"):
        Reconstructor(bundle, threads=0)


def test_bundle_folder(tmp_path: Path, bundle) -> None:  # noqa: ANN001
    import shutil

    from cmp_edge.runtime.reconstructor import Reconstructor

    folder = tmp_path / "b"
    folder.mkdir()
    shutil.copy(bundle, folder / "model.onnx")
    assert Reconstructor(folder).model_path == folder / "model.onnx"


def test_default_model_works_out_of_the_box(voice16k) -> None:  # noqa: ANN001
    from cmp_edge.facemodel import FaceModel
    from cmp_edge.model.bundle import default_model_path
    from cmp_edge.runtime.reconstructor import Reconstructor

    rec = Reconstructor(threads=1)
    assert rec.model_path == default_model_path()
    assert default_model_path().stat().st_size <= 5_000_000
    assert rec.face_model_id == FaceModel.default().id
    assert rec.info.kind == "supervised"
    assert "synthetic" in rec.info.provenance.get("trained_on", "synthetic")
    face = rec.predict(voice16k, 16000)
    assert face.vertices.shape == FaceModel.default().mean.shape
    assert np.all(np.isfinite(face.vertices))


CUDA_PROVIDERS = ["CUDAExecutionProvider", "CPUExecutionProvider"]


def test_cuda_request_without_gpu(bundle) -> None:  # noqa: ANN001
    from cmp_edge import _native as _cuda
    from cmp_edge.runtime.reconstructor import Reconstructor

    if _cuda.device_count() > 0:
        pytest.skip("a CUDA device is present")
    with pytest.raises(ModelError, match="no CUDA device"):
        Reconstructor(bundle, providers=CUDA_PROVIDERS)


class _FakeDriver:
    """Stands in for libcuda: cuInit status, device count, optional missing symbols."""

    def __init__(self, init: int = 0, count: int = 2, symbols: bool = True) -> None:
        self.init, self.count, self.symbols = init, count, symbols

    def cuInit(self, flags: int) -> int:  # noqa: N802
        if not self.symbols:
            raise AttributeError("cuInit")
        return self.init

    def cuDeviceGetCount(self, ref) -> int:  # noqa: ANN001, N802
        ref._obj.value = self.count
        return 0


@pytest.mark.parametrize(
    ("driver", "expected"),
    [
        (_FakeDriver(count=2), 2),
        (_FakeDriver(init=100), 0),  # CUDA_ERROR_NO_DEVICE
        (_FakeDriver(symbols=False), 0),
        (None, 0),  # no driver library at all
    ],
)
def test_cuda_probe_asks_the_driver_when_built_without_cuda(
    monkeypatch, driver, expected: int
) -> None:  # noqa: ANN001
    from cmp_edge import _native as _cuda

    def cdll(name: str):  # noqa: ANN202
        if driver is None:
            raise OSError(f"{name}: cannot open shared object file")
        return driver

    monkeypatch.setattr(_cuda, "native_kernels", lambda: False)
    monkeypatch.setattr(_cuda.ctypes, "CDLL", cdll)
    assert _cuda.driver_device_count() == expected
    assert _cuda.device_count() == expected


def test_cuda_probe_prefers_the_extension(monkeypatch) -> None:  # noqa: ANN001
    from cmp_edge import _C
    from cmp_edge import _native as _cuda

    monkeypatch.setattr(_cuda, "native_kernels", lambda: True)
    monkeypatch.setattr(_C, "cuda_device_count", lambda: 3)
    monkeypatch.setattr(_cuda, "driver_device_count", lambda: pytest.fail("driver asked"))
    assert _cuda.device_count() == 3
    monkeypatch.setattr(_C, "cuda_device_count", lambda: 1 / 0)
    assert _cuda.device_count() == 0  # never raises


@pytest.mark.parametrize(
    ("devices", "kernels", "ort", "expected"),
    [
        (0, True, CUDA_PROVIDERS, ModelError),
        (1, False, CUDA_PROVIDERS, (CUDA_PROVIDERS, "cpu")),
        (1, True, CUDA_PROVIDERS, (CUDA_PROVIDERS, "cuda")),
        (1, True, ["CPUExecutionProvider"], (["CPUExecutionProvider"], "cuda")),
        (1, False, ["CPUExecutionProvider"], (["CPUExecutionProvider"], "cpu")),
    ],
)
def test_resolve_providers_at_run_time(monkeypatch, devices, kernels, ort, expected) -> None:  # noqa: ANN001
    from cmp_edge import _native as _cuda
    from cmp_edge.model import session

    monkeypatch.setattr(_cuda, "device_count", lambda: devices)
    monkeypatch.setattr(_cuda, "native_kernels", lambda: kernels)
    monkeypatch.setattr(session, "ort_providers", lambda: list(ort))
    assert session.resolve_providers(None) == (["CPUExecutionProvider"], "cpu")
    assert session.resolve_providers(["CPUExecutionProvider"]) == (
        ["CPUExecutionProvider"],
        "cpu",
    )
    if expected is ModelError:
        with pytest.raises(ModelError, match="no CUDA device"):
            session.resolve_providers(CUDA_PROVIDERS)
    else:
        assert session.resolve_providers(CUDA_PROVIDERS) == expected


@pytest.mark.parametrize("kernels", [False, True])
def test_cuda_request_reports_devices(bundle, voice16k, monkeypatch, kernels: bool) -> None:  # noqa: ANN001
    """A GPU seen by the driver, ONNX Runtime without CUDA: CPU session; the reconstruction
    uses the CUDA kernels exactly when the extension has them, and the face says so."""
    from cmp_edge import _native as _cuda
    from cmp_edge.facemodel import FaceModel
    from cmp_edge.model import session
    from cmp_edge.runtime import reconstructor

    monkeypatch.setattr(_cuda, "device_count", lambda: 1)
    monkeypatch.setattr(_cuda, "native_kernels", lambda: kernels)
    monkeypatch.setattr(session, "ort_providers", lambda: ["CPUExecutionProvider"])
    used: list[str] = []
    real = FaceModel.reconstruct

    def spy(self, *args, device="cpu", **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        used.append(device)
        return real(self, *args, device="cpu", **kwargs)

    monkeypatch.setattr(FaceModel, "reconstruct", spy)
    # prepare=False: the faked GPU cannot really hold the packed basis
    rec = reconstructor.Reconstructor(bundle, providers=CUDA_PROVIDERS, threads=1, prepare=False)
    assert rec.providers == ("CPUExecutionProvider",)
    device = "cuda" if kernels else "cpu"
    assert rec.reconstruct_device == device
    face = rec.predict(voice16k, 16000)
    assert used == [device]
    assert face.devices == {"model": "CPUExecutionProvider", "reconstruct": device}
    assert face.to_dict()["metadata"]["devices"] == face.devices


@pytest.mark.gpu
def test_cuda_provider_matches_cpu(bundle, rec, voice16k) -> None:  # noqa: ANN001
    from cmp_edge import _native as _cuda
    from cmp_edge.runtime.reconstructor import Reconstructor

    if _cuda.device_count() == 0:
        pytest.skip("no CUDA device")
    gpu = Reconstructor(bundle, providers=CUDA_PROVIDERS)
    assert gpu.providers[-1] == "CPUExecutionProvider"
    assert gpu.reconstruct_device == ("cuda" if _cuda.native_kernels() else "cpu")
    np.testing.assert_allclose(
        gpu.predict(voice16k, 16000).whitened, rec.predict(voice16k, 16000).whitened, atol=1e-3
    )
