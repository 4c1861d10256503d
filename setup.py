"""Build script for the native core ``cmp_edge._C``.

setuptools + pybind11 builds every ``csrc/**/*.cc`` file into one extension.
CUDA sources (``csrc/**/*.cu``) are compiled with nvcc and linked in when the
toolkit is found. Build mode from the environment:

- ``CMP_EDGE_CUDA=AUTO`` (default): use CUDA if nvcc is found, else CPU only.
- ``CMP_EDGE_CUDA=ON``: require nvcc; fail the build without it.
- ``CMP_EDGE_CUDA=OFF``: never build CUDA code.
- ``CMP_EDGE_CUDA_ARCHS``: semicolon list of SM versions (default ``75;80;86;89;90``).
- ``CMP_EDGE_WERROR=1``: treat compiler warnings as errors (CI sets it).
- ``CMP_EDGE_NATIVE=1``: compile for the build machine's CPU (-march=native);
  the default is a portable x86-64 baseline with runtime AVX2/FMA dispatch.
- ``CMP_EDGE_JOBS``: parallel compile jobs (default: number of cores).
- ``CMP_EDGE_ORT=gpu|cpu``: which ONNX Runtime build the package requires. ``gpu``
  (the default; on x86_64 Linux) is ``onnxruntime-gpu`` (about 340 MB
  installed; it also runs on machines without a GPU); ``cpu`` is the plain
  ``onnxruntime`` (about 76 MB), without the CUDA provider. Elsewhere (macOS, ARM)
  only the plain build exists. Never install both: they are one Python package.

Whether a GPU is present is decided at run time (``cmp_edge._native.device_count()``,
which asks the CUDA driver when this build has no CUDA kernels), never here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from pybind11.setup_helpers import ParallelCompile, Pybind11Extension
from setuptools import setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
CSRC = ROOT / "csrc"


def _sources(pattern: str) -> list[str]:
    return sorted(str(p.relative_to(ROOT)) for p in CSRC.rglob(pattern))


def _find_nvcc() -> str | None:
    for var in ("CUDACXX", "CUDA_HOME", "CUDA_PATH"):
        value = os.environ.get(var)
        if not value:
            continue
        cand = Path(value) if var == "CUDACXX" else Path(value) / "bin" / "nvcc"
        if cand.is_file():
            return str(cand)
    found = shutil.which("nvcc")
    if found:
        return found
    default = Path("/usr/local/cuda/bin/nvcc")
    return str(default) if default.is_file() else None


def _cudart_dir(nvcc: str) -> str:
    homes = [os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH")]
    homes += [str(Path(nvcc).resolve().parent.parent), "/usr/local/cuda"]
    for home in filter(None, homes):
        for libdir in ("lib64", "lib", "targets/x86_64-linux/lib"):
            if (Path(home) / libdir / "libcudart_static.a").is_file():
                return str(Path(home) / libdir)
    raise RuntimeError(f"libcudart_static.a not found near {nvcc}; set CUDA_HOME")


def _warning_flags() -> list[str]:
    flags = ["-Wall", "-Wextra", "-Wconversion", "-Wno-sign-conversion"]
    if os.environ.get("CMP_EDGE_WERROR") == "1":
        flags.append("-Werror")
    return flags


class BuildExt(build_ext):
    """build_ext that adds nvcc-compiled objects when CUDA is enabled."""

    def build_extensions(self) -> None:
        mode = os.environ.get("CMP_EDGE_CUDA", "AUTO").strip().upper()
        if mode not in {"AUTO", "ON", "OFF"}:
            raise RuntimeError(f"CMP_EDGE_CUDA must be AUTO, ON or OFF, not {mode!r}")
        cu_sources = _sources("*.cu")
        nvcc = _find_nvcc() if mode != "OFF" else None
        if mode == "ON" and nvcc is None:
            raise RuntimeError("CMP_EDGE_CUDA=ON but nvcc was not found (set CUDA_HOME or CUDACXX)")
        for ext in self.extensions:
            if nvcc is not None and cu_sources:
                ext.extra_objects.extend(self._compile_cuda(nvcc, cu_sources))
                ext.library_dirs.append(_cudart_dir(nvcc))
                ext.libraries.extend(["cudart_static", "dl", "rt", "pthread"])
                ext.define_macros.append(("CMP_EDGE_WITH_CUDA", "1"))
        super().build_extensions()

    def _compile_cuda(self, nvcc: str, sources: list[str]) -> list[str]:
        archs = os.environ.get("CMP_EDGE_CUDA_ARCHS", "75;80;86;89;90").split(";")
        gencode: list[str] = []
        for arch in filter(None, (a.strip() for a in archs)):
            gencode += ["-gencode", f"arch=compute_{arch},code=sm_{arch}"]
        last = archs[-1].strip()
        gencode += ["-gencode", f"arch=compute_{last},code=compute_{last}"]
        out_dir = Path(self.build_temp) / "cuda"
        out_dir.mkdir(parents=True, exist_ok=True)
        host_flags = ",".join(["-fPIC", "-O3", "-Wall", "-Wextra"])
        objects = []
        for src in sources:
            obj = out_dir / (Path(src).stem + ".o")
            cmd = [
                nvcc,
                "-c",
                src,
                "-o",
                str(obj),
                "-O3",
                "-std=c++17",
                "--expt-relaxed-constexpr",
                "-Xcompiler",
                host_flags,
                "-I",
                str(CSRC),
                "-DCMP_EDGE_WITH_CUDA=1",
                *gencode,
            ]
            if os.environ.get("CMP_EDGE_WERROR") == "1":
                cmd += ["-Werror", "all-warnings"]
            print(" ".join(cmd), flush=True)
            subprocess.run(cmd, check=True)
            objects.append(str(obj))
        return objects


cxx_flags = ["-O3", "-fvisibility=hidden", *_warning_flags()]
if os.environ.get("CMP_EDGE_NATIVE") == "1":
    cxx_flags.append("-march=native")

ParallelCompile("CMP_EDGE_JOBS", default=0).install()

ext_modules = [
    Pybind11Extension(
        "cmp_edge._C",
        _sources("*.cc"),
        include_dirs=[str(CSRC)],
        cxx_std=17,
        extra_compile_args=cxx_flags,
        extra_link_args=["-pthread"],
    )
]


def runtime_requirements() -> list[str]:
    """The runtime dependencies; ONNX Runtime's build follows ``CMP_EDGE_ORT``."""
    choice = os.environ.get("CMP_EDGE_ORT", "gpu").strip().lower()
    if choice not in ("gpu", "cpu"):
        raise SystemExit(f"CMP_EDGE_ORT={choice!r}: use 'gpu' or 'cpu'")
    gpu_platform = "platform_system != 'Darwin' and platform_machine == 'x86_64'"
    cpu_platform = "platform_system == 'Darwin' or platform_machine != 'x86_64'"
    # 1.24.1 is the first release that refuses external-data paths escaping the model's
    # folder (microsoft/onnxruntime#26776); tests/hostile/test_bundle_files.py checks it.
    floor = "1.24.1"
    ort = (
        [f"onnxruntime-gpu>={floor}; {gpu_platform}", f"onnxruntime>={floor}; {cpu_platform}"]
        if choice == "gpu"
        else [f"onnxruntime>={floor}"]
    )
    return [
        "numpy>=1.26",
        "scipy>=1.11",
        "soundfile>=0.12",
        # FFmpeg decoding (M4A/AAC, WebM/Opus, AMR, video files); the wheels bundle
        # FFmpeg (104 MB installed); see docs/audio.md
        "av>=12.0",
        # resampling (libsoxr, as librosa uses)
        "soxr>=0.3.7",
        "webrtcvad-wheels>=2.0.14",
        *ort,
        "trimesh>=4.0",
    ]


setup(
    ext_modules=ext_modules,
    cmdclass={"build_ext": BuildExt},
    install_requires=runtime_requirements(),
)
