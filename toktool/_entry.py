"""Process entry point. Kept import-free so that Ctrl-C during start-up (while the CLI's
dependencies import) still ends with the usual one-line message and exit 130, not a traceback."""

from __future__ import annotations

import sys


def _tune_malloc() -> None:
    """Have glibc give big blocks back to the system when they are freed.

    Counting and training allocate and free many arrays of tens of MB. glibc raises its mmap
    threshold after the first such free, so later ones come from the heap and stay mapped when
    freed: a good part of the SuperBPE run's peak was memory already freed (docs/superbpe.md). A
    fixed threshold of 256 KiB keeps large arrays in their own mappings, returned on free. No-op
    outside glibc; TOKTOOL_MALLOC=default leaves the allocator as it is."""
    import os

    if os.environ.get("TOKTOOL_MALLOC") == "default":
        return
    # pyarrow's default pool (mimalloc/jemalloc) keeps freed pages mapped: tens of MB of a Parquet run's
    # peak (docs/benchmarks.md); the system allocator, tuned below, gives them back
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    mallopt(m_mmap_threshold, 256 * 1024)
    mallopt(m_trim_threshold, 1024 * 1024)


def run() -> None:
    _tune_malloc()
    try:
        from .cli.app import main
    except KeyboardInterrupt:
        sys.stderr.write("toktool: interrupted\n")
        sys.exit(130)
    sys.exit(main())
