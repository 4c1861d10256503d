"""PyTorch trainers of cmp-edge (repository tool; run from the repository root).

Modules: :mod:`train.models` (networks shared with ``export``), :mod:`train.losses`,
:mod:`train.data` (Voxceleb-3D layout and raw-audio loaders), :mod:`train.engine`
(the common loop: seeding, checkpoints, logs, DDP) and one module per trainer:
``train.voice_encoder``, ``train.supervised``, ``train.expert``, ``train.distill``,
``train.evaluate``. See ``train/README.md``.
"""
