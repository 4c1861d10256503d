"""Export tests reuse the runtime fixtures (tiny bundle, default face model, speech)."""

from tests.runtime.conftest import bundle, face_model, rec, voice16k  # noqa: F401
