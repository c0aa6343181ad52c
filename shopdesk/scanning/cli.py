"""`shopdesk scan`: prints each job code read from a camera, a video file or a stream, one per line —
for checking a camera, and for scripts. QR codes that are not job codes are reported on stderr.

Exit status: 0 done (the source ended, --once read a code, or Ctrl+C); 1 --once or --timeout ended
without a code; 2 the source could not be read.
"""

from __future__ import annotations

import argparse
import logging
import queue
import sys
import time

from .capture import ENDED, ERROR, CaptureStatus, CaptureWorker, parse_source
from .dedup import Scan


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="shopdesk scan", description="Print the job codes read from a camera or a video.")
    ap.add_argument("--source", required=True, metavar="PATH|INDEX",
                    help="camera index (0 is the first camera), a video file, or a stream URL")
    ap.add_argument("--once", action="store_true", help="exit after the first code")
    ap.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                    help="give up after this long (exit status 1 if nothing was read)")
    ap.add_argument("--decoder", choices=["zxing", "pyzbar"], default=None,
                    help="force a QR decoder (default: the fastest installed, zxing-cpp)")
    ap.add_argument("--retry", action="store_true",
                    help="keep retrying a camera that is missing or unplugged instead of exiting")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # problems are printed below in words; keep the worker's log warnings from repeating them
    logging.getLogger("shopdesk.scanning").addHandler(logging.NullHandler())
    events: queue.Queue = queue.Queue()
    from .decode import DecoderUnavailable

    try:
        worker = CaptureWorker(parse_source(args.source), backend=args.decoder,
                               on_scan=lambda s: events.put(s), on_status=lambda st: events.put(st),
                               retry_every=2.0 if args.retry else None)
    except DecoderUnavailable as exc:
        print(f"shopdesk scan: {exc}", file=sys.stderr)
        return 2
    worker.start()
    deadline = None if args.timeout is None else time.monotonic() + args.timeout
    read_any = False
    status = 0
    try:
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                print(f"shopdesk scan: no job code read within {args.timeout:g} s", file=sys.stderr)
                status = 0 if read_any else 1
                break
            try:
                ev = events.get(timeout=0.2 if left is None else min(0.2, left))
            except queue.Empty:
                if not worker.running and events.empty():
                    status = 0 if read_any or not args.once else 1
                    break
                continue
            if isinstance(ev, Scan):
                if ev.code is None:
                    print(f"shopdesk scan: {ev.message}", file=sys.stderr, flush=True)
                    continue
                print(ev.code, flush=True)
                read_any = True
                if args.once:
                    break
            elif isinstance(ev, CaptureStatus):
                if ev.state == ERROR:
                    print(f"shopdesk scan: {ev.message}", file=sys.stderr, flush=True)
                    if ev.retry_in is None:
                        status = 2
                        break
                elif ev.state == ENDED and args.once and not read_any:
                    worker.wait(2)
                    # scans found in the last frames are already queued ahead of this status
                    print(f"shopdesk scan: no job code found — {ev.message[0].lower()}{ev.message[1:]}",
                          file=sys.stderr)
                    status = 1
                    break
    except KeyboardInterrupt:
        status = 0
    finally:
        worker.stop()
    return status


if __name__ == "__main__":
    sys.exit(main())
