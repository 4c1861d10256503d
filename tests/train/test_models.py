"""Shapes of every network and the published state-dict keys and shapes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from train import models

torch.set_num_threads(2)


def _keys_shapes(module: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


def test_voice_encoder_published_keys_and_shapes() -> None:
    ks = _keys_shapes(models.VoiceEncoder())
    expected: dict[str, tuple[int, ...]] = {}
    chans = [64, 256, 384, 576, 864]
    for j, (a, b) in enumerate(zip(chans[:-1], chans[1:], strict=True)):
        conv, bn = 3 * j, 3 * j + 1
        expected[f"model.{conv}.weight"] = (b, a, 3)
        for name in ("weight", "bias", "running_mean", "running_var"):
            expected[f"model.{bn}.{name}"] = (b,)
        expected[f"model.{bn}.num_batches_tracked"] = ()
    expected["model.12.weight"] = (64, 864, 3)
    expected["model.12.bias"] = (64,)
    assert ks == expected


def test_voice_encoder_output_is_unit_norm() -> None:
    enc = models.VoiceEncoder(width=0.25).eval()
    out = enc(torch.randn(3, 64, 300))
    assert out.shape == (3, 64)
    np.testing.assert_allclose(out.norm(dim=1).detach().numpy(), 1.0, atol=1e-5)
    assert enc(torch.randn(2, 64, 1000), normalize=False).shape == (2, 64)


def test_supervised_decoder_published_keys() -> None:
    dec = models.SupervisedDecoder()
    assert _keys_shapes(dec) == {
        "classifier_scale.1.weight": (1, 64),
        "classifier_scale.1.bias": (1,),
        "classifier_shape.1.weight": (40, 64),
        "classifier_shape.1.bias": (40,),
        "classifier_exp.1.weight": (10, 64),
        "classifier_exp.1.bias": (10,),
    }
    for head in (dec.classifier_scale, dec.classifier_shape, dec.classifier_exp):
        assert isinstance(head[0], torch.nn.Dropout) and head[0].p == 0.2
    assert dec(torch.randn(5, 64)).shape == (5, 51)


def test_generator_face_embed_discriminator_classifier_shapes() -> None:
    gen = models.Generator()
    keys = _keys_shapes(gen)
    assert keys["model.0.weight"] == (64, 1024, 4, 4)
    assert keys["model.8.weight"] == (128, 64, 4, 4)
    assert keys["model.10.weight"] == (64, 3, 1, 1)
    small = models.Generator(width=0.125)
    img = small(torch.randn(2, 64))
    assert img.shape == (2, 3, 64, 64)
    assert float(img.detach().abs().max()) <= 1.0
    fe = models.FaceEmbed()
    assert _keys_shapes(fe)["model.0.weight"] == (32, 3, 1, 1)
    assert _keys_shapes(fe)["model.10.weight"] == (64, 512, 4, 4)
    emb = models.FaceEmbed(width=0.125)(img)
    assert emb.shape == (2, 64)
    disc = models.Discriminator()
    assert _keys_shapes(disc) == {"model.weight": (1, 64)}
    assert disc(emb).shape == (2, 1)
    cls = models.IdentityClassifier(7)
    assert _keys_shapes(cls) == {"model.weight": (7, 64)}
    assert cls(emb).shape == (2, 7)


def test_mobilenet_published_heads_and_split() -> None:
    net = models.MobileNetV2()
    ks = _keys_shapes(net)
    assert ks["classifier_ori.1.weight"] == (12, 1280)
    assert ks["classifier_shape.1.weight"] == (40, 1280)
    assert ks["classifier_exp.1.weight"] == (10, 1280)
    assert ks["classifier_texture.1.weight"] == (40, 1280)
    assert ks["features.0.0.weight"] == (32, 3, 3, 3)
    assert ks["features.18.0.weight"] == (1280, 320, 1, 1)
    assert len(net.features) == 19
    assert sum(p.numel() for n, p in net.named_parameters() if n.startswith("features")) == (
        2223872
    )
    net = net.eval()
    params, pooled, inter = net.forward_all(torch.randn(2, 3, 120, 120))
    assert params.shape == (2, 102)
    assert pooled.shape == (2, 1280)
    assert inter.shape == (2, 64, 8, 8)


def test_small_mobilenet_and_resize() -> None:
    net = models.MobileNetV2(width=0.25, last_channel=128)
    img = models.resize_for_expert(torch.rand(2, 3, 64, 64) * 2 - 1)
    assert img.shape == (2, 3, 120, 120)
    params, pooled, inter = net.forward_all(img)
    assert params.shape == (2, 102) and pooled.shape == (2, 128) and inter.shape[0] == 2


class _TinyFaceModel:
    def __init__(self, n: int = 30, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.mean = rng.normal(size=(n, 3)).astype(np.float32)
        self.shape_basis = rng.normal(size=(3 * n, 45)).astype(np.float32)
        self.expr_basis = rng.normal(size=(3 * n, 12)).astype(np.float32)


def test_torch_face_model_matches_numpy_formula() -> None:
    fm = _TinyFaceModel()
    layer = models.TorchFaceModel(fm)
    rng = np.random.default_rng(1)
    p = rng.normal(size=(4, 51)).astype(np.float32)
    p[:, 0] = rng.uniform(0.5, 2.0, size=4)
    out = layer(torch.from_numpy(p)).numpy()
    for b in range(4):
        flat = fm.shape_basis[:, :40] @ p[b, 1:41] + fm.expr_basis[:, :10] @ p[b, 41:]
        ref = p[b, 0] * (fm.mean + flat.reshape(-1, 3))
        np.testing.assert_allclose(out[b], ref, rtol=1e-4, atol=1e-4)
    sub = models.TorchFaceModel(fm, vertex_indices=[3, 7])
    np.testing.assert_allclose(sub(torch.from_numpy(p)).numpy(), out[:, [3, 7]], atol=1e-5)


def test_torch_face_model_rejects_bad_bases() -> None:
    fm = _TinyFaceModel()
    fm.shape_basis = fm.shape_basis[:, :20]
    with pytest.raises(ValueError, match="face model bases"):
        models.TorchFaceModel(fm)


def test_end_to_end_wrappers_output_51() -> None:
    enc = models.VoiceEncoder(width=0.25)
    sup = models.SupervisedCMP(enc, models.SupervisedDecoder()).eval()
    assert sup(torch.randn(2, 64, 400)).shape == (2, 51)
    dis = models.DistilledCMP(
        enc, models.Generator(0.125), models.MobileNetV2(0.25, last_channel=64)
    ).eval()
    x = torch.randn(2, 64, 400)
    out = dis(x)
    assert out.shape == (2, 51)
    assert torch.all(out[:, 0] == 0)
    with torch.no_grad():
        params, image = dis.forward_with_image(x)
        ref_image = dis.generator(dis.encoder(x))
        ref_params = dis.student(models.resize_for_expert(ref_image))[:, 12:62]
    torch.testing.assert_close(params, out)
    torch.testing.assert_close(image, ref_image)
    torch.testing.assert_close(params[:, 1:], ref_params)
    assert image.shape == (2, 3, 64, 64)


def test_build_rejects_unknown_name() -> None:
    with pytest.raises(ValueError, match="unknown network"):
        models.build("nope", {})


def test_torch_face_model_matches_face_model_reconstruct() -> None:
    from cmp_edge.facemodel import FaceModel

    fm = FaceModel.default()
    rng = np.random.default_rng(3)
    a = rng.normal(size=40).astype(np.float32)
    e = rng.normal(size=10).astype(np.float32)
    ref = fm.reconstruct(a, e, scale=1.25)
    keep = np.arange(0, fm.n_vertices, 97)
    layer = models.TorchFaceModel(fm, keep)
    p = torch.from_numpy(np.concatenate([[1.25], a, e]).astype(np.float32)[None])
    np.testing.assert_allclose(layer(p)[0].numpy(), ref[keep], atol=2e-3, rtol=1e-4)
