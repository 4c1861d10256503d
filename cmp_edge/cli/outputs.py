"""Output naming, input checks and writing the outputs of one input (all or none)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cmp_edge._safe.names import printable
from cmp_edge.cli.options import FORMATS
from cmp_edge.errors import AudioError, OutputError

if TYPE_CHECKING:  # pragma: no cover
    from cmp_edge.runtime.face import Face


def output_path(path: Path, explicit: str | None) -> Path:
    """The output file for ``-o PATH``: its suffix names the format, else --format adds one."""
    suffix = path.suffix.lower().lstrip(".")
    if suffix in FORMATS:
        if explicit and suffix != explicit:
            raise OutputError(
                f"{path}: suffix .{suffix} contradicts --format {explicit}; make them agree"
            )
        return path
    if explicit:
        return path.with_name(f"{path.name}.{explicit}")
    what = f"unknown suffix .{suffix}" if suffix else "no file suffix"
    raise OutputError(
        f"{path}: {what}; end the name in .ply, .obj, .glb, .npz or .json (or --format)"
    )


def check_audio_input(path: Path, command: str) -> None:
    name = printable(str(path))
    if path.is_dir():
        raise AudioError(
            f"{name}: is a folder; use `cmp-edge batch {name} -o OUTDIR` for folders of audio"
            if command == "infer"
            else f"{name}: is a folder; {command} takes one audio file"
        )
    if not path.is_file():
        raise AudioError(f"{name}: audio file not found; check the path")


def check_new(paths: Sequence[Path], force: bool, named: Sequence[tuple[str, Path]] = ()) -> None:
    """Refuse outputs that collide (with each other or an input) or exist without --force.

    ``named`` pairs an option with the file it names (e.g. ``("--render", path)``)
    so that a collision message can say which options collide.
    """
    owner: dict[Path, str] = {}
    for option, path in named:
        key = path.resolve()
        if key in owner:
            if owner[key] == "input" or option == "input":
                other = option if owner[key] == "input" else owner[key]
                raise OutputError(f"{path}: {other} names an input file; choose another name")
            raise OutputError(
                f"{path}: {owner[key]} and {option} name the same file; give each its own name"
            )
        owner[key] = option
    from cmp_edge._safe.atomic import check_targets

    check_targets(
        paths, overwrite=force, twice="two inputs would write the same output; rename one input"
    )


def summary_line(face: Face, out: Path) -> str:
    """One line saying what was written: a mesh (vertices) or parameters only."""
    if out.suffix.lower() == ".json":
        what = f"{sum(getattr(v, 'size', 1) for v in face.params.values())} parameters (no mesh)"
    elif out.suffix.lower() == ".npz":
        what = f"{face.vertices.shape[0]} vertices and the parameters"
    else:
        what = f"{face.vertices.shape[0]} vertices"
    return (
        f"{printable(str(out))}: {what} from {face.voiced_s:.1f} s of speech "
        f"({face.timings.get('total', 0.0):.1f} ms)"
    )


def format_timings(face: Face) -> str:
    return "  ".join(f"{k} {v:.2f}" for k, v in face.timings.items()) + "  (ms)"


def write_outputs(
    face: Face, target: Path, render: str | None, params_json: str | None, force: bool
) -> None:
    """Write the mesh and the optional extras: all of them, or none on any failure."""
    from cmp_edge._safe.atomic import atomic_files, write_chunks

    image = None
    if render:
        from cmp_edge.output.render import render_views

        image = render_views(face.vertices, face.triangles, size=256)
    paths = [target, *(Path(x) for x in (params_json, render) if x)]
    t0 = time.perf_counter()
    with atomic_files(paths, overwrite=force) as temps:
        face.save(temps[0], overwrite=True)
        if params_json:
            write_chunks(temps[1], [face.params_file(temps[1])])
        if image is not None:
            from cmp_edge.output.render import write_png

            write_png(temps[-1], image, overwrite=True)
    face.timings["write"] = (time.perf_counter() - t0) * 1e3
