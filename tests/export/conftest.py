"""Export tests reuse the runtime fixtures (tiny bundle, default face model, speech)."""

from tests.runtime.conftest import _private_cache, bundle, face_model, rec, voice16k  # noqa: F401
