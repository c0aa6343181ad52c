"""The frozen bundle's entry point: the same `shopdesk` command as the installed console script."""

import multiprocessing
import sys

from shopdesk.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a frozen Windows/macOS child process must not start the app again
    sys.exit(main())
