"""Repository tool: PyTorch checkpoints -> cmp-edge ONNX bundles (``python -m export``).

Modules: :mod:`export.core` (ONNX export, metadata, parity check, fp16/int8
variants), :mod:`export.checkpoints` (training and published checkpoints),
:mod:`export.default_bundle` (the recipe of ``cmp_edge/models/default.onnx``).
Needs torch and onnx (``pip install -e .[train]``); the runtime never imports it.
"""
