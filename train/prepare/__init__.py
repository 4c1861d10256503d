"""train.prepare: a Voxceleb-3D style corpus from a user's own videos, recordings and photos.

``python -m train.prepare INPUT OUT`` (see docs/prepare.md). Modules: inputs (speakers and
files), media (photo, video and audio decoding), detect (MediaPipe -> ibug-68, or
precomputed JSON), speaker (one speaker end to end), corpus (corpus-wide files, merge),
cli (the command).
"""
