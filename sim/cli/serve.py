"""``sim serve``: start the classroom web app and print where to open it."""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import socket
import sys
from pathlib import Path

from ..errors import UsageError

DEFAULT_PORT = 8000
LOOPBACK = "127.0.0.1"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser],
               positive: object) -> None:
    """Register ``serve`` on the main parser's subcommands."""
    p = sub.add_parser(
        "serve", help="run a class in the browser (lecturer page, student join, reveal)",
        description="Start the classroom web app: the lecturer opens the printed address; "
                    "students join with a code from any browser. Everything is served "
                    "locally; nothing is fetched from the internet.")
    p.add_argument("--host", default=LOOPBACK,
                   help=f"address to listen on (default {LOOPBACK}: this computer only; "
                        "0.0.0.0 opens it to the room's network)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help=f"port (default {DEFAULT_PORT}; 0 picks a free one)")
    p.add_argument("--db", default="classroom.sqlite", metavar="PATH",
                   help="SQLite file that keeps sessions, forecasts, runs and scores "
                        "(default classroom.sqlite; created if missing)")
    p.add_argument("--scenarios", metavar="FOLDER",
                   help="folder of scenarios offered to the lecturer (default: ./scenarios "
                        "if it exists, else the shipped ones)")
    p.add_argument("--workers", "-w", type=positive,  # type: ignore[arg-type]
                   default=None, help="processes per run (default: all cores; runs have "
                                      "the lowest priority, so pages stay quick)")
    p.set_defaults(func=cmd_serve)


def _scenarios(given: str | None) -> Path:
    if given is not None:
        folder = Path(given)
        if not folder.is_dir():
            raise UsageError(f"--scenarios {given}: no such folder")
        return folder
    here = Path("scenarios")
    return here if here.is_dir() else Path(__file__).resolve().parents[2] / "scenarios"


def _bind(host: str, port: int) -> socket.socket:
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:
        raise UsageError(f"--host {host}: give an IP address such as 127.0.0.1 or "
                         "0.0.0.0") from None
    # IPPROTO_TCP explicitly: asyncio turns Nagle off (TCP_NODELAY) only on sockets that
    # say so, and without it every keep-alive response waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port} ({exc.strerror}); is another "
                         "server using it? Try --port 8001") from None
    sock.listen(128)
    return sock


def _addresses(host: str) -> list[str]:
    """Addresses students can type: the host itself, or this machine's own addresses."""
    if host not in ("0.0.0.0", "::"):
        return [host]
    found: list[str] = []
    with contextlib.suppress(OSError):
        found = [a for a in socket.gethostbyname_ex(socket.gethostname())[2]
                 if not a.startswith("127.")]
    return found or ["<this computer's address>"]


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the classroom server until Ctrl-C."""
    import uvicorn

    from ..web.app import create_app, open_database
    from ..web.config import ServeConfig

    config = ServeConfig(db=Path(args.db), scenarios=_scenarios(args.scenarios),
                         workers=args.workers)
    sock = _bind(args.host, args.port)
    port = sock.getsockname()[1]
    token = open_database(config)
    shown = LOOPBACK if args.host in ("0.0.0.0", "::") else args.host
    url = f"http://{shown}:{port}"
    print(f"Classroom server for {config.db} (scenarios from {config.scenarios})")
    print(f"Lecturer (keep this address to yourself): {url}/lecturer?token={token}")
    if args.host == LOOPBACK:
        print(f"Students: {url}/join  (this computer only; use --host 0.0.0.0 for the room)")
    else:
        print(f"OPEN TO THE NETWORK on {args.host}:{port}: anyone who can reach this computer "
              "can open the join page; only the token opens the lecturer page.")
        for address in _addresses(args.host):
            print(f"Students: http://{address}:{port}/join")
    print("Stop with Ctrl-C.", flush=True)
    server = uvicorn.Server(uvicorn.Config(create_app(config), log_level="warning",
                                           access_log=False))
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    print("Server stopped; everything is kept in " + str(config.db), file=sys.stderr)
    return 0
