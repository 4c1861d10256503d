"""A SynergyNet checkpoint ("2D-to-3D-pretrained.tar") as the distiller's expert."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from cmp_edge.errors import CmpEdgeError
from tests.train.conftest import TinyFaceModel
from train import common, distill, engine, models

torch.set_num_threads(2)

N_VERTICES = 53215
# A few published keys and shapes (standard MobileNetV2 1.0 under module.IGM., spec 3/3b).
PUBLISHED = {
    "module.IGM.features.0.0.weight": (32, 3, 3, 3),
    "module.IGM.features.0.1.running_var": (32,),
    "module.IGM.features.1.conv.0.0.weight": (32, 1, 3, 3),
    "module.IGM.features.1.conv.1.weight": (16, 32, 1, 1),
    "module.IGM.features.17.conv.2.weight": (320, 960, 1, 1),
    "module.IGM.features.18.0.weight": (1280, 320, 1, 1),
    "module.IGM.classifier_ori.1.weight": (12, 1280),
    "module.IGM.classifier_shape.1.weight": (40, 1280),
    "module.IGM.classifier_exp.1.weight": (10, 1280),
    "module.IGM.classifier_texture.1.bias": (40,),
}


def _synergynet_state(n_whitening: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """Published keys and shapes, random values (positive BatchNorm variances)."""
    g = torch.Generator().manual_seed(seed)
    state: dict[str, torch.Tensor] = {}
    for k, v in models.MobileNetV2().state_dict().items():
        if k.endswith("num_batches_tracked"):
            state[_key(k)] = torch.tensor(7)
        elif k.endswith("running_var"):
            state[_key(k)] = torch.rand(v.shape, generator=g) + 0.5
        else:
            state[_key(k)] = 0.05 * torch.randn(v.shape, generator=g)
    state["module.param_mean"] = torch.randn(n_whitening, generator=g)
    state["module.param_std"] = torch.rand(n_whitening, generator=g) + 0.1
    state["module.u"] = torch.randn(3 * N_VERTICES, 1, generator=g)
    state["module.w_shp"] = torch.zeros(3 * N_VERTICES, 40)
    state["module.w_exp"] = torch.zeros(3 * N_VERTICES, 10)
    state["module.forwardDirection.conv1.weight"] = torch.randn(64, 3, 1, generator=g)
    return state


def _key(k: str) -> str:
    return "module.IGM." + k


@pytest.mark.parametrize("n_whitening", [62, 102])
def test_load_synergynet_checkpoint(tmp_path: Path, n_whitening: int) -> None:
    state = _synergynet_state(n_whitening)
    for key, shape in PUBLISHED.items():
        assert tuple(state[key].shape) == shape
    path = tmp_path / "2D-to-3D-pretrained.tar"
    torch.save({"state_dict": state}, path)
    with pytest.raises(CmpEdgeError, match="not a cmp-edge training checkpoint"):
        engine.load_checkpoint(path)
    net, ckpt = common.load_mobilenet(path, "expert")
    assert ckpt["face_model_id"] == common.SYNERGYNET_FACE_MODEL_ID
    assert ckpt["config"] == {"mobilenet_width": 1.0, "mobilenet_last_channel": 1280}
    mean, std = state["module.param_mean"], state["module.param_std"]
    assert ckpt["param_mean"] == pytest.approx([1.0, *mean[12:62].tolist()])
    relative_std = 1.538597731841497e-05 / 0.0005920184194110334
    assert ckpt["param_std"] == pytest.approx([relative_std, *std[12:62].tolist()])
    # the weights are the checkpoint's: same outputs as a net loaded by hand
    ref = models.MobileNetV2()
    ref.load_state_dict({k[len("module.IGM.") :]: v for k, v in state.items() if "IGM" in k})
    x = torch.rand(2, 3, 120, 120) * 2 - 1
    with torch.no_grad():
        out = net.eval()(x)
        np.testing.assert_allclose(out.numpy(), ref.eval()(x).numpy(), rtol=1e-5, atol=1e-6)
    assert out.shape == (2, 102)


def test_synergynet_checkpoint_errors(tmp_path: Path) -> None:
    state = _synergynet_state(62)
    bad = tmp_path / "bad.tar"
    torch.save({"state_dict": {**state, "module.param_mean": torch.zeros(51)}}, bad)
    with pytest.raises(CmpEdgeError, match="62 or 102"):
        common.load_mobilenet(bad)
    no_std = {k: v for k, v in state.items() if k != "module.param_std"}
    torch.save(no_std, bad)  # a bare state dict is accepted too, but this one lacks std
    with pytest.raises(CmpEdgeError, match="param_std"):
        common.load_mobilenet(bad)
    del state["module.IGM.classifier_exp.1.weight"]
    torch.save({"state_dict": state}, bad)
    with pytest.raises(CmpEdgeError, match="does not fit"):
        common.load_mobilenet(bad)


def test_distill_with_a_synergynet_expert(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    shutil.copytree(corpus, data)
    (data / "synth.json").unlink()  # the corpus does not name a face model
    fm = TinyFaceModel()
    fm.id = common.SYNERGYNET_FACE_MODEL_ID
    monkeypatch.setattr(distill, "load_face_model", lambda spec: fm)
    expert = tmp_path / "2D-to-3D-pretrained.tar"
    state = _synergynet_state(102)
    torch.save({"state_dict": state}, expert)
    out = tmp_path / "run"
    argv = ["--data", str(data), "--out", str(out), "--steps", "1", "--seed", "1"]
    argv += ["--batch-size", "2", "--threads", "2", "--progress", "off", "--train-encoder"]
    argv += ["--encoder-width", "0.125", "--crop-min", "40", "--crop-max", "60"]
    argv += ["--generator-width", "0.0625", "--face-embed-width", "0.0625"]
    argv += ["--expert", str(expert), "--mesh-unit", "100"]
    assert distill.main(argv) == 0
    ck = engine.load_checkpoint(out / "last.pt", "distill")
    assert ck["face_model_id"] == common.SYNERGYNET_FACE_MODEL_ID
    assert ck["param_mean"][1:] == pytest.approx(state["module.param_mean"][12:62].tolist())
    expert_state = ck["model"]["expert"]
    torch.testing.assert_close(
        expert_state["features.18.0.weight"], state["module.IGM.features.18.0.weight"]
    )
