"""Which build of a kernel to run: the ahead-of-time module when it matches the source, else Numba's JIT.

The AOT module (`python -m toktool.kernels.build_aot`, run by `make`) needs neither numba nor LLVM at
run time, so processes that only count or merge stay small and start at once. It is used only when
the hash it was built from equals the hash of the current sources, so a stale build never runs old
code. It holds the GIL while it runs; callers run it in a forked child when they need the parent
free (progress, Ctrl-C). TOKTOOL_KERNEL=jit forces the JIT path, =aot makes a missing build an error.
"""

from __future__ import annotations

import importlib
import os
import sys

from ..errors import ToktoolError

# exported name -> (kernels module, function) of its JIT twin
JIT_KERNELS = {
    "bpe_train_kernel": ("bpe_train", "bpe_train_kernel"),
    "bpe_encode_kernel": ("bpe_encode", "bpe_encode_kernel"),
    "parity_train_kernel": ("parity_train", "parity_train_kernel"),
    "scan_count_kernel": ("pretok_scan", "scan_count_kernel"),
    "pieces_merge_sorted_kernel": ("piece_sort", "merge_sorted_kernel"),
    "pieces_sort_kernel": ("piece_sort", "sort_pieces_kernel"),
    "pieces_gather_kernel": ("piece_sort", "gather_kernel"),
}


def load_aot():
    """The AOT-compiled kernel module, or None when it is missing, stale or TOKTOOL_KERNEL=jit.

    Raises ToktoolError for an unknown TOKTOOL_KERNEL value, or when TOKTOOL_KERNEL=aot and there is
    no up-to-date build."""
    choice = os.environ.get("TOKTOOL_KERNEL", "auto")
    if choice not in ("auto", "aot", "jit"):
        raise ToktoolError(f"TOKTOOL_KERNEL must be auto, aot or jit, not {choice!r}")
    if choice == "jit":
        return None
    module = None
    if sys.platform.startswith("linux"):
        from .build_aot import HASH_FILE, kernel_hash

        try:
            if HASH_FILE.read_text(encoding="utf-8").strip() == kernel_hash():
                from . import _aot as module  # type: ignore[attr-defined,no-redef]
        except (OSError, ImportError):
            module = None
    if module is None and choice == "aot":
        raise ToktoolError(
            "TOKTOOL_KERNEL=aot but the AOT kernels are not built for this source (run: python -m toktool.kernels.build_aot)"
        )
    return module


def jit_kernel(name: str):
    """The Numba-compiled (JIT) function behind an exported kernel name (imports numba)."""
    module, func = JIT_KERNELS[name]
    return getattr(importlib.import_module(f"{__package__}.{module}"), func)


def get_kernel(name: str):
    """(function, is_aot): the AOT build of kernel `name` when available, else its JIT twin."""
    aot = load_aot()
    if aot is not None:
        return getattr(aot, name), True
    return jit_kernel(name), False
