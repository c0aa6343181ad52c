"""`shopdesk`: the counter app and its tools.

  shopdesk                      the counter app (embedded server and demo shop when none is configured)
  shopdesk scan --source ...    print job codes read from a camera or video
  shopdesk agent ...            a headless print agent
  shopdesk server ...           same as shopdesk-server
"""

from __future__ import annotations

import importlib
import sys

SUBCOMMANDS = {
    "scan": "shopdesk.scanning.cli",
    "agent": "shopdesk.agent",
    "server": "shopdesk.server.cli",
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SUBCOMMANDS:
        module = importlib.import_module(SUBCOMMANDS[argv[0]])
        return int(module.main(argv[1:]) or 0)
    from .app import main as app_main

    return int(app_main(argv) or 0)


if __name__ == "__main__":
    sys.exit(main())
