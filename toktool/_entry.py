"""Process entry point. Kept import-free so that Ctrl-C during start-up (while the CLI's
dependencies import) still ends with the usual one-line message and exit 130, not a traceback."""

from __future__ import annotations

import sys


def run() -> None:
    try:
        from .cli import main
    except KeyboardInterrupt:
        sys.stderr.write("toktool: interrupted\n")
        sys.exit(130)
    sys.exit(main())
