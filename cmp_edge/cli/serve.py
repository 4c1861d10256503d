"""``cmp-edge serve``: the HTTP API and the browser page on one address."""

from __future__ import annotations

import argparse
import ipaddress
import socket

from cmp_edge.cli.console import PROG, Console
from cmp_edge.cli.options import make_reconstructor
from cmp_edge.errors import CmpEdgeError

__all__ = ["add_serve_parser", "cmd_serve"]


def add_serve_parser(p: argparse.ArgumentParser) -> None:
    """The options of ``cmp-edge serve`` (beside the model options)."""
    p.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine)"
    )
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: any free port)")
    p.add_argument("--workers", type=int, metavar="N", help="estimates computed at once")
    p.add_argument(
        "--queue", type=int, default=16, metavar="N", help="requests waiting beyond that (16)"
    )
    p.add_argument(
        "--max-upload-mb", type=float, default=32.0, metavar="MB", help="largest upload (32)"
    )
    p.add_argument(
        "--max-seconds", type=float, default=120.0, metavar="S", help="longest audio (120)"
    )
    p.add_argument("--no-page", dest="page", action="store_false", help="API only, no page at /")
    v = p.add_mutually_exclusive_group()
    v.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    v.add_argument("-v", "--verbose", action="store_true", help="print every request")


def _bind(host: str, port: int) -> socket.socket:
    if not 0 <= port <= 65535:
        raise CmpEdgeError(f"--port {port}: must be in 0..65535")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise CmpEdgeError(f"--host {host}: cannot be resolved ({exc.strerror})") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise CmpEdgeError(
            f"{host}:{port}: cannot listen there ({exc.strerror}); pass another --port"
        ) from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def cmd_serve(args: argparse.Namespace, console: Console) -> int:
    try:
        import uvicorn

        from cmp_edge.serve.app import create_app
        from cmp_edge.serve.limits import Limits
    except ImportError as exc:
        raise CmpEdgeError(
            f'serve needs the serve extra ({exc.name} is missing); pip install "cmp-edge[serve]"'
        ) from None
    fields = {
        "queue": args.queue,
        "max_upload_bytes": int(args.max_upload_mb * 1024 * 1024),
        "max_duration_s": args.max_seconds,
    }
    if args.workers is not None:
        fields["workers"] = args.workers
    limits = Limits(**fields).check()
    sock = _bind(args.host, args.port)
    try:
        rec = make_reconstructor(args, console)
        app = create_app(rec, limits, page=args.page)
        host, port = sock.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        if not _is_loopback(args.host):
            console.note(
                f"{PROG}: warning: listening on {args.host}: anyone who can reach this machine "
                "can use the service"
            )
        page = f"page http://{shown}:{port}/, " if args.page else ""
        print(
            f"{PROG}: serving on http://{shown}:{port} ({page}API http://{shown}:{port}/docs); "
            "Ctrl-C stops",
            file=console.out,
            flush=True,
        )
        level = "info" if args.verbose else "warning"
        config = uvicorn.Config(app, log_level=level, access_log=args.verbose, ws="auto")
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
    return 0
