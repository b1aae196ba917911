"""Compile the Numba kernels (merge loops, BPE encoder, pre-tokenizer scanners) ahead of time (`make` runs this).

The kernel sources are the same modules the JIT path uses; numba.pycc turns them into one extension
module `_aot.<ext>` next to them, with `_aot.sha256` recording the hash of the sources it was built
from. At run time the AOT module is used only when that hash matches the current source, so a stale
build can never train with old code. Why bother: the AOT module needs neither numba nor LLVM at run
time, which saves the compiler's memory and the first-run compile (figures in docs/benchmarks.md).

    python -m toktool.kernels.build_aot        # exit 0 and a note on stderr even if it cannot build
"""

from __future__ import annotations

import hashlib
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
# every module whose code ends up in the AOT build (a change to any of them makes the build stale)
KERNEL_SRCS = tuple(
    HERE / name
    for name in (
        "hashtable.py", "heap.py", "token_table.py", "charclass.py",
        "bpe_train.py", "bpe_encode.py", "parity_train.py", "piece_sort.py", "pretok_scan.py",
    )
)
HASH_FILE = HERE / "_aot.sha256"
MODULE = "_aot"
SIGNATURE = (
    "Tuple((i4[::1], i4[::1], i4[::1], u1[::1], i8[::1], i8[::1], i8[::1]))"
    "(i4[::1], i8[::1], i8[::1], u1[::1], i8[::1], i8, i8, i8, i8, i8, i8, i8[::1], i8[::1])"
)

ENCODE_SIGNATURE = "Tuple((i4[::1], i8[::1]))(u1[::1], i8[::1], i4[::1], i4[::1], i4[::1], i4[::1], u1[::1])"


PARITY_SIGNATURE = (
    "Tuple((i4[::1], i4[::1], i4[::1], u1[::1], i8[::1], i8[::1], i8[::1], i8[::1], i8))"
    "(i4[::1], i8[::1], i8[::1], i4[::1], i8[::1], i8[::1], i8, u1[::1], i8[::1], i8, i8, i8, i8, f8, i8, f8[::1], i8, i8[::1], i8[::1])"
)


SCAN_SIGNATURE = (
    "Tuple((i8[::1], i8[::1], u1[::1]))"
    "(u1[::1], i8[::1], i8, u1[::1], u1[::1], i8[::1], i8[::1], u1[::1], i8[::1], i8[::1])"
)

PIECE_SIGNATURES = {
    "pieces_merge_sorted_kernel": ("merge_sorted_kernel", "Tuple((u1[::1], i8[::1], i8[::1]))(u1[::1], i8[::1], i8[::1], u1[::1], i8[::1], i8[::1])"),
    "pieces_sort_kernel": ("sort_pieces_kernel", "i8[::1](u1[::1], i8[::1], i8)"),
    "pieces_gather_kernel": ("gather_kernel", "Tuple((u1[::1], i8[::1]))(u1[::1], i8[::1], i8[::1])"),
}


def kernel_hash() -> str:
    """SHA-256 (hex) of the kernel sources, in the order of KERNEL_SRCS."""
    h = hashlib.sha256()
    for src in KERNEL_SRCS:
        h.update(src.read_bytes())
    return h.hexdigest()


def build() -> Path:
    """Compile every exported kernel into `_aot.<ext>` beside the sources; returns that folder.

    Raises whatever numba.pycc raises when it cannot compile (`main` reports it and exits 0)."""
    from numba.pycc import CC

    from . import bpe_encode, bpe_train, parity_train, piece_sort, pretok_scan

    cc = CC(MODULE)
    cc.output_dir = str(HERE)
    cc.verbose = False
    cc.export("bpe_train_kernel", SIGNATURE)(bpe_train.bpe_train_kernel.py_func)
    cc.export("bpe_encode_kernel", ENCODE_SIGNATURE)(bpe_encode.bpe_encode_kernel.py_func)
    cc.export("parity_train_kernel", PARITY_SIGNATURE)(parity_train.parity_train_kernel.py_func)
    cc.export("scan_count_kernel", SCAN_SIGNATURE)(pretok_scan.scan_count_kernel.py_func)
    for name, (func, sig) in PIECE_SIGNATURES.items():
        cc.export(name, sig)(getattr(piece_sort, func).py_func)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cc.compile()
    HASH_FILE.write_text(kernel_hash() + "\n", encoding="utf-8")
    return HERE


def main() -> int:
    t0 = time.perf_counter()
    try:
        build()
    except Exception as e:  # the JIT path still works; say why AOT is missing
        print(f"toktool: could not build the AOT kernels ({type(e).__name__}: {e}); toktool will JIT-compile them instead", file=sys.stderr)
        return 0
    print(f"toktool: built the AOT kernels in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
