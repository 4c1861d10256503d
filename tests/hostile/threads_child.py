"""Child process of test_threads.py: native parallel loops when threads cannot start."""

from __future__ import annotations

import resource

import numpy as np

from tests.hostile.sandbox import mapped_bytes


def render_without_thread_stacks() -> None:
    """Limit the address space so that no thread stack (8 MiB) fits, then render with all cores.

    Before the fix, the failing std::thread constructor left joinable threads in a
    destroyed vector: std::terminate (SIGABRT). Now the chunks run on this thread.
    """
    from cmp_edge._native import ext

    _C = ext()
    rng = np.random.default_rng(0)
    verts = rng.uniform(-1, 1, (2000, 3)).astype(np.float32)
    tris = rng.integers(0, 2000, (4000, 3)).astype(np.int32)
    from cmp_edge.output.render import render_mesh

    expected = render_mesh(verts, tris, size=256, threads=1)
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (mapped_bytes() + (4 << 20), hard))
    image = render_mesh(verts, tris, size=256, threads=64)
    assert np.array_equal(image, expected)
    assert _C is not None
    print("ok")
