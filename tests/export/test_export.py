"""python -m export: ORT vs PyTorch parity, metadata round trip, training and published files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from export.__main__ import main as export_main
from export.core import ParityError, bundle_metadata, export_onnx, verify_parity
from tests.runtime.helpers import synthetic_voice, tiny_net


def _meta(face_model, **kw):  # noqa: ANN001, ANN003, ANN202
    dims = {
        "vertices": face_model.mean.shape[0],
        "shape": face_model.shape_basis.shape[1],
        "expr": face_model.expr_basis.shape[1],
    }
    args = dict(
        kind="supervised",
        param_mean=np.zeros(51),
        param_std=np.ones(51),
        face_model_id=face_model.id,
        face_model_dims=dims,
        provenance={"run": "test"},
    )
    args.update(kw)
    return bundle_metadata(**args)


def test_export_parity_and_metadata_round_trip(tmp_path: Path, face_model) -> None:  # noqa: ANN001
    import onnxruntime as ort

    from cmp_edge.model.bundle import read_bundle

    net = tiny_net(3)
    mean = np.linspace(-1, 1, 51)
    std = np.linspace(0.1, 2, 51)
    report = export_onnx(
        net, tmp_path / "m.onnx", _meta(face_model, param_mean=mean, param_std=std)
    )
    assert report.max_abs_diff <= 1e-4 and len(report.checks) == 3
    info = read_bundle(tmp_path / "m.onnx")
    np.testing.assert_array_equal(info.param_mean, mean)
    np.testing.assert_array_equal(info.param_std, std)
    assert info.param_layout == {"scale": 1, "shape": 40, "expr": 10}
    assert info.face_model_id == face_model.id and info.pad_to == 1000
    assert info.provenance["run"] == "test"
    assert info.provenance["export_parity_max_abs_diff"] == report.max_abs_diff
    # dynamic batch and time
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((4, 64, 523)).astype(np.float32)
    (out,) = sess.run(["params"], {"features": x})
    with torch.no_grad():
        ref = net(torch.from_numpy(x)).numpy()
    assert out.shape == (4, 51)
    np.testing.assert_allclose(out, ref, atol=1e-4)


def test_parity_failure_writes_nothing(tmp_path: Path, face_model) -> None:  # noqa: ANN001
    with pytest.raises(ParityError, match="not written"):
        export_onnx(tiny_net(), tmp_path / "m.onnx", _meta(face_model), tolerance=-1.0)
    assert list(tmp_path.iterdir()) == []


def test_bad_metadata_rejected(face_model) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match="51 entries"):
        _meta(face_model, param_mean=np.zeros(50))


def _supervised_checkpoint(path: Path, face_model_id: str) -> tuple[Path, torch.nn.Module]:
    from train.models import SupervisedCMP, build

    torch.manual_seed(0)
    config = {"encoder_width": 0.25, "dropout": 0.2}
    enc, dec = build("voice_encoder", config), build("decoder", config)
    with torch.no_grad():
        for m in enc.modules():
            if isinstance(m, torch.nn.BatchNorm1d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
    ck = {
        "kind": "supervised",
        "model": {"voice_encoder": enc.state_dict(), "decoder": dec.state_dict()},
        "optimizer": {},
        "step": 7,
        "config": config,
        "face_model_id": face_model_id,
        "param_mean": [1.0] + [0.0] * 50,
        "param_std": [0.01] + [1.0] * 50,
        "feature_preset": "cmp",
    }
    torch.save(ck, path)
    return path, SupervisedCMP(enc, dec).eval()


def test_training_checkpoint_to_runtime(tmp_path: Path, face_model, capsys) -> None:  # noqa: ANN001
    from cmp_edge.runtime.reconstructor import Reconstructor

    ckpt, net = _supervised_checkpoint(tmp_path / "last.pt", face_model.id)
    out = tmp_path / "sup.onnx"
    assert export_main(["--ckpt", str(ckpt), "-o", str(out), "--fp16", "--int8"]) == 0
    printed = capsys.readouterr().out
    assert "parity ORT vs PyTorch: max abs diff" in printed and "variant int8" in printed
    rec = Reconstructor(out, threads=1)
    assert rec.info.kind == "supervised" and rec.info.provenance["step"] == 7
    x = synthetic_voice(2.0)
    face = rec.predict(x, 16000)
    from cmp_edge.features import cmp_features

    feats = cmp_features(x, 16000)
    with torch.no_grad():
        ref = net(torch.from_numpy(feats.T[None].copy())).numpy()[0]
    np.testing.assert_allclose(face.whitened, ref, atol=1e-4)
    for variant in ("fp16", "int8"):
        r = Reconstructor(tmp_path / f"sup.{variant}.onnx", threads=1)
        diff = np.abs(r.predict(x, 16000).whitened - ref).max()
        assert diff < (0.05 if variant == "fp16" else 0.5)


def test_export_errors(tmp_path: Path, face_model, capsys) -> None:  # noqa: ANN001
    ckpt, _ = _supervised_checkpoint(tmp_path / "last.pt", "another-face-model")
    assert export_main(["--ckpt", str(ckpt), "-o", str(tmp_path / "x.onnx")]) == 1
    assert "another-face-model" in capsys.readouterr().err
    torch.save({"kind": "expert", "model": {}}, tmp_path / "e.pt")
    assert export_main(["--ckpt", str(tmp_path / "e.pt"), "-o", str(tmp_path / "x.onnx")]) == 1
    assert "does not map voices" in capsys.readouterr().err
    assert export_main(["--ckpt", str(tmp_path / "nope.pt"), "-o", str(tmp_path / "x.onnx")]) == 1
    assert not (tmp_path / "x.onnx").exists()


@pytest.mark.parametrize("content", [b"RIFF\x24\x00\x00\x00WAVEfmt ", b"just some text\n", b""])
def test_not_a_checkpoint_is_named(tmp_path: Path, capsys, content: bytes) -> None:  # noqa: ANN001
    path = tmp_path / "text.wav"
    path.write_bytes(content)
    assert export_main(["--ckpt", str(path), "-o", str(tmp_path / "x.onnx")]) == 1
    err = capsys.readouterr().err
    assert "text.wav: not a PyTorch checkpoint" in err and "KeyError" not in err
    assert not (tmp_path / "x.onnx").exists()


def _published_files(tmp_path: Path, n_vertices: int = 53215) -> tuple[Path, Path, Path, dict]:
    """State dicts with the exact published keys and shapes, random values."""
    from train.models import SupervisedDecoder, VoiceEncoder

    g = torch.Generator().manual_seed(1)
    enc, dec = VoiceEncoder(), SupervisedDecoder()
    enc_sd = {
        k: (
            torch.rand(v.shape, generator=g) + 0.5
            if "running_var" in k
            else v.clone()
            if v.dtype == torch.long
            else torch.randn(v.shape, generator=g) * 0.05
        )
        for k, v in enc.state_dict().items()
    }
    dec_sd = {k: torch.randn(v.shape, generator=g) * 0.1 for k, v in dec.state_dict().items()}
    expected_enc = {
        "model.0.weight": (256, 64, 3),
        "model.1.running_var": (256,),
        "model.12.weight": (64, 864, 3),
        "model.12.bias": (64,),
    }
    for k, shape in expected_enc.items():
        assert tuple(enc_sd[k].shape) == shape
    assert tuple(dec_sd["classifier_shape.1.weight"].shape) == (40, 64)
    n3 = 3 * n_vertices
    u = torch.randn(n3, 1, generator=g) * 2e4
    u[0::3] *= 4  # a face-like width so the units detection sees BFM units
    tensors = {
        "module.u": u,
        "module.w_shp": torch.randn(n3, 40, generator=g) * 1e3,
        "module.w_exp": torch.randn(n3, 10, generator=g) * 1e3,
        "module.param_mean": torch.randn(102, generator=g),
        "module.param_std": torch.rand(102, generator=g) + 0.5,
        "module.IGM.features.0.0.weight": torch.randn(32, 3, 3, 3, generator=g),
    }
    paths = (
        tmp_path / "voice_embedding.pth",
        tmp_path / "decoder.pth",
        tmp_path / "2D-to-3D-pretrained.tar",
    )
    torch.save({"module." + k: v for k, v in enc_sd.items()}, paths[0])
    torch.save(dec_sd, paths[1])
    torch.save({"state_dict": tensors, "epoch": 3}, paths[2])
    return (*paths, {"enc": enc_sd, "dec": dec_sd, "tensors": tensors})


def test_published_conversion(tmp_path: Path) -> None:
    from cmp_edge.runtime.reconstructor import Reconstructor
    from export.checkpoints import PUBLISHED_SCALE_MEAN, PUBLISHED_SCALE_STD
    from train.models import SupervisedCMP, SupervisedDecoder, VoiceEncoder

    enc_p, dec_p, tar_p, raw = _published_files(tmp_path)
    out = tmp_path / "cmp_supervised.onnx"
    code = export_main(
        [
            "--ckpt",
            str(enc_p),
            "--decoder",
            str(dec_p),
            "--face-tensors",
            str(tar_p),
            "-o",
            str(out),
        ]
    )
    assert code == 0
    enc, dec = VoiceEncoder(), SupervisedDecoder()
    enc.load_state_dict(raw["enc"])
    dec.load_state_dict(raw["dec"])
    net = SupervisedCMP(enc, dec).eval()
    worst, _, _ = verify_parity(net, out.read_bytes())
    assert worst <= 1e-4
    rec = Reconstructor(out, threads=1)  # finds the face model written beside the bundle
    assert rec.info.kind == "published_supervised"
    assert rec.face_model.mean.shape == (53215, 3)
    x = synthetic_voice(2.0)
    face = rec.predict(x, 16000)
    # the published reconstruction, in the published units, up to the recorded unit factor
    t = raw["tensors"]
    p = face.whitened.astype(np.float64)
    s = p[0] * PUBLISHED_SCALE_STD + PUBLISHED_SCALE_MEAN
    pm, ps = t["module.param_mean"].numpy(), t["module.param_std"].numpy()
    alpha = p[1:51] * ps[12:62] + pm[12:62]
    verts = s * (
        t["module.u"].numpy()[:, 0]
        + t["module.w_shp"].numpy() @ alpha[:40]
        + t["module.w_exp"].numpy() @ alpha[40:]
    )
    published = verts.reshape(-1, 3)
    factor = rec.info.provenance["mm_per_published_unit"]
    np.testing.assert_allclose(
        face.vertices, published * factor, rtol=2e-3, atol=2e-3 * np.abs(published * factor).max()
    )


def test_distilled_checkpoint_with_image(tmp_path: Path, face_model) -> None:  # noqa: ANN001
    import onnxruntime as ort

    from cmp_edge.runtime.reconstructor import Reconstructor
    from train.models import DistilledCMP, build

    torch.manual_seed(0)
    config = {
        "encoder_width": 0.25,
        "generator_width": 0.125,
        "mobilenet_width": 0.25,
        "mobilenet_last_channel": 64,
        "dropout": 0.2,
    }
    nets = {n: build(n, config) for n in ("voice_encoder", "generator", "student")}
    ck = {
        "kind": "distill",
        "model": {n: m.state_dict() for n, m in nets.items()},
        "step": 3,
        "config": config,
        "face_model_id": face_model.id,
        "param_mean": [1.0] + [0.0] * 50,
        "param_std": [0.01] + [1.0] * 50,
        "feature_preset": "cmp",
    }
    torch.save(ck, tmp_path / "last.pt")
    out = tmp_path / "distilled.onnx"
    assert export_main(["--ckpt", str(tmp_path / "last.pt"), "-o", str(out), "--with-image"]) == 0
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert [o.name for o in sess.get_outputs()] == ["params", "embedding", "image"]
    x = np.random.default_rng(0).standard_normal((2, 64, 700)).astype(np.float32)
    params, embedding, image = sess.run(None, {"features": x})
    net = DistilledCMP(nets["voice_encoder"], nets["generator"], nets["student"]).eval()
    with torch.no_grad():
        ref = net(torch.from_numpy(x)).numpy()
        ref_embedding = nets["voice_encoder"](torch.from_numpy(x))
        ref_image = nets["generator"](ref_embedding).numpy()
    np.testing.assert_allclose(params, ref, atol=1e-4)
    np.testing.assert_allclose(embedding, ref_embedding.numpy(), atol=1e-5)
    np.testing.assert_allclose(image, ref_image, atol=1e-4)
    assert image.shape == (2, 3, 64, 64)
    rec = Reconstructor(out, threads=1)
    assert rec.info.kind == "distill" and rec.info.outputs == ("params", "embedding", "image")
    assert np.all(np.isfinite(rec.predict(synthetic_voice(2.0), 16000).vertices))


@pytest.mark.slow
def test_default_bundle_recipe_small(tmp_path: Path) -> None:
    """The default-bundle recipe end to end at toy scale (synth -> train -> export -> eval)."""
    from cmp_edge.model.bundle import read_bundle
    from export.default_bundle import main as recipe_main

    out = tmp_path / "default.onnx"
    assert (
        recipe_main(["--small", "-o", str(out), "--work", str(tmp_path / "w"), "--workers", "1"])
        == 0
    )
    info = read_bundle(out)
    assert info.kind == "supervised" and info.face_model_id == "ict-facekit-head-v1"
    prov = info.provenance
    assert prov["recipe"] == "python -m export.default_bundle" and "synthetic" in prov["trained_on"]
    assert prov["config"]["data"] == "data"  # no local paths in the shipped metadata
    assert prov["evaluation"]["test_identities"] >= 1
    assert set(prov["variants_not_shipped"]) >= {"default.fp16.onnx", "default.int8.onnx"}


def test_bundles_output_the_voice_embedding(tmp_path: Path, face_model) -> None:  # noqa: ANN001
    """Exported bundles carry the encoder's embedding; Reconstructor.embed returns it."""
    from cmp_edge.errors import ModelError
    from cmp_edge.runtime.reconstructor import Reconstructor
    from tests.runtime.helpers import export_tiny
    from train.models import SupervisedCMP, SupervisedDecoder, VoiceEncoder

    torch.manual_seed(5)
    net = SupervisedCMP(VoiceEncoder(0.25), SupervisedDecoder()).eval()
    for module in net.modules():  # non-trivial BatchNorm statistics
        if isinstance(module, torch.nn.BatchNorm1d):
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 1.5)
    report = export_onnx(net, tmp_path / "e.onnx", _meta(face_model))
    assert report.max_abs_diff <= 1e-4
    rec = Reconstructor(tmp_path / "e.onnx", threads=1)
    assert rec.info.outputs == ("params", "embedding") and rec.has_embedding
    x = synthetic_voice(3.0, seed=4)
    emb = rec.embed(x, 16000)
    assert emb.shape == (64,) and emb.dtype == np.float32
    feats, _, _ = rec.network_input(x, 16000)
    with torch.no_grad():
        ref = net.encoder(torch.from_numpy(feats.T[None].copy()))[0].numpy()
    np.testing.assert_allclose(emb, ref, atol=1e-5)
    assert np.linalg.norm(emb) == pytest.approx(1.0, abs=1e-5)
    face = rec.predict(x, 16000)
    assert face.embedding is not None
    np.testing.assert_allclose(face.embedding, emb, atol=1e-6)
    with torch.no_grad():
        params = net(torch.from_numpy(feats.T[None].copy()))[0].numpy()
    np.testing.assert_allclose(face.whitened, params, atol=1e-4)
    # a bundle exported without the embedding (older exports) still loads and predicts
    old = export_tiny(tmp_path / "old.onnx", face_model)
    rec_old = Reconstructor(old, threads=1)
    assert rec_old.info.outputs == ("params",) and not rec_old.has_embedding
    assert rec_old.predict(x, 16000).embedding is None
    with pytest.raises(ModelError, match="no 'embedding' output"):
        rec_old.embed(x, 16000)


def test_older_bundles_get_their_embedding_without_retraining(tmp_path: Path, face_model) -> None:  # noqa: ANN001
    """export.embedding exposes the encoder tensor of a params-only bundle as 'embedding'."""
    import onnx

    from cmp_edge.errors import ModelError
    from cmp_edge.runtime.reconstructor import Reconstructor
    from export.embedding import add_embedding_output, main
    from train.models import SupervisedCMP, SupervisedDecoder, VoiceEncoder

    torch.manual_seed(7)
    net = SupervisedCMP(VoiceEncoder(0.25), SupervisedDecoder()).eval()

    class ParamsOnly(torch.nn.Module):  # how bundles were exported before 0.2
        def __init__(self) -> None:
            super().__init__()
            self.encoder, self.decoder = net.encoder, net.decoder

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.decoder(self.encoder(x))

    old = tmp_path / "old.onnx"
    export_onnx(ParamsOnly().eval(), old, _meta(face_model))
    assert Reconstructor(old, threads=1).info.outputs == ("params",)
    assert main([str(old), "-o", str(tmp_path / "new.onnx")]) == 0
    rec = Reconstructor(tmp_path / "new.onnx", threads=1)
    assert rec.info.outputs == ("params", "embedding")
    x = synthetic_voice(3.0, seed=2)
    feats, _, _ = rec.network_input(x, 16000)
    with torch.no_grad():
        ref = net.encoder(torch.from_numpy(feats.T[None].copy()))[0].numpy()
    np.testing.assert_allclose(rec.embed(x, 16000), ref, atol=1e-5)
    np.testing.assert_array_equal(
        rec.predict(x, 16000).whitened, Reconstructor(old, threads=1).predict(x, 16000).whitened
    )
    with pytest.raises(ModelError, match="already outputs"):
        add_embedding_output(onnx.load(str(tmp_path / "new.onnx")))
    assert main([str(tmp_path / "new.onnx")]) == 1  # one-line error, nothing written
