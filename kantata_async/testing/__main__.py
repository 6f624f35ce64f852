"""Run a `FakeKantata` on its own: `python -m kantata_async.testing --users 10000 --port 8765`.

Prints the base URL and the token, then the OAuth root, client id and client secret (one per
line, `KEY=value`) once it listens, then serves until Ctrl-C or SIGTERM. Handy for benchmarks
that keep the server out of the client's process, and for poking at the fake with curl.
`--rate-limit 50 --rate-burst 10` answers 429 past 50 requests a second (`rate_limit`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence

from ._server import FakeKantata


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m kantata_async.testing",
        description="Serve a fake Kantata OX API v1 on loopback from a seeded dataset.",
    )
    parser.add_argument("--users", type=int, default=100, help="users to generate (100)")
    parser.add_argument("--seed", type=int, default=0, help="dataset seed (0)")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port, 0 for any free one (8765)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per request")
    parser.add_argument(
        "--rate-limit", type=float, default=None, metavar="RATE", help="429 past RATE requests/s"
    )
    parser.add_argument("--rate-burst", type=int, default=None, metavar="N", help="bucket size")
    parser.add_argument("--token", default=None, help="bearer token (default: from the seed)")
    parser.add_argument("--me", default="1", help="id of the token's user (1)")
    parser.add_argument(
        "--ignore-unmodelled",
        action="store_true",
        help="ignore documented filters, includes and orders the fake does not model "
        "(default: answer 501 naming them)",
    )
    return parser


async def serve(args: argparse.Namespace) -> None:
    """Run the server described by `args` until SIGINT or SIGTERM."""
    fake = FakeKantata(
        args.users,
        args.seed,
        token=args.token,
        latency=args.latency,
        host=args.host,
        port=args.port,
        me=args.me,
        ignore_unmodelled=args.ignore_unmodelled,
    )
    if args.rate_limit is not None or args.rate_burst is not None:
        fake.rate_limit(args.rate_limit, burst=args.rate_burst)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Not available on Windows: Ctrl-C then arrives as KeyboardInterrupt instead.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with fake:
        print(f"KANTATA_BASE_URL={fake.base_url}", flush=True)
        print(f"KANTATA_TOKEN={fake.token}", flush=True)
        # After the two lines above, which scripts read by position.
        print(f"KANTATA_OAUTH_BASE_URL={fake.oauth_base_url}", flush=True)
        print(f"KANTATA_OAUTH_CLIENT_ID={fake.oauth_client_id}", flush=True)
        print(f"KANTATA_OAUTH_CLIENT_SECRET={fake.oauth_client_secret}", flush=True)
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    """The command line entry point; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        pass
    except (ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
