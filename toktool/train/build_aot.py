"""Compile the Numba kernels (merge loops, BPE encoder, stage-2 scanner) ahead of time (`make` runs this).

The kernel source is the same `_bpe_kernel.py` that the JIT path uses; numba.pycc turns it into
`_bpe_aot.<ext>` next to it, with `_bpe_aot.sha256` recording the hash of the source it was built
from. At run time the AOT module is used only when that hash matches the current source, so a stale
build can never train with old code. Why bother: the AOT module needs neither numba nor LLVM at run
time, which saves ~90 MB of memory and the first-run compile (see docs/benchmarks.md).

    python -m toktool.train.build_aot        # exit 0 and a note on stderr even if it cannot build
"""

from __future__ import annotations

import hashlib
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
KERNEL_SRC = HERE / "_bpe_kernel.py"
KERNEL_SRCS = (KERNEL_SRC, HERE / "_parity_kernel.py", HERE / "_split_kernel.py")
HASH_FILE = HERE / "_bpe_aot.sha256"
MODULE = "_bpe_aot"
SIGNATURE = (
    "Tuple((i4[::1], i4[::1], i4[::1], u1[::1], i8[::1], i8[::1], i8[::1]))"
    "(i4[::1], i8[::1], i8[::1], u1[::1], i8[::1], i8, i8, i8, i8, i8, i8, i8[::1], i8[::1])"
)

ENCODE_SIGNATURE = "Tuple((i4[::1], i8[::1]))(u1[::1], i8[::1], i4[::1], i4[::1], i4[::1], i4[::1], u1[::1])"


PARITY_SIGNATURE = (
    "Tuple((i4[::1], i4[::1], i4[::1], u1[::1], i8[::1], i8[::1], i8[::1], i8[::1], i8))"
    "(i4[::1], i8[::1], i8[::1], i4[::1], i8[::1], i8[::1], i8, u1[::1], i8[::1], i8, i8, i8, i8, f8, i8, f8[::1], i8, i8[::1], i8[::1])"
)


_TABLE = "Tuple((i4[::1], u8[::1], i8[::1], i8[::1], u1[::1]))"
SPLIT_SIGNATURES = {
    "sb2_count_kernel": ("sb2_count_kernel", _TABLE + "(u1[::1], i8[::1], u1[::1], i4[::1], u8[::1], i8[::1], i8[::1], u1[::1], i8[::1])"),
    "sb2_merge_sorted_kernel": ("merge_sorted_kernel", "Tuple((u1[::1], i8[::1], i8[::1]))(u1[::1], i8[::1], i8[::1], u1[::1], i8[::1], i8[::1])"),
    "sb2_sort_pieces_kernel": ("sort_pieces_kernel", "i8[::1](u1[::1], i8[::1], i8)"),
    "sb2_gather_kernel": ("gather_kernel", "Tuple((u1[::1], i8[::1]))(u1[::1], i8[::1], i8[::1])"),
}


def kernel_hash() -> str:
    h = hashlib.sha256()
    for src in KERNEL_SRCS:
        h.update(src.read_bytes())
    return h.hexdigest()


def build() -> Path:
    from numba.pycc import CC

    from . import _bpe_kernel, _parity_kernel, _split_kernel

    cc = CC(MODULE)
    cc.output_dir = str(HERE)
    cc.verbose = False
    cc.export("bpe_train_kernel", SIGNATURE)(_bpe_kernel.bpe_train_kernel.py_func)
    cc.export("bpe_encode_kernel", ENCODE_SIGNATURE)(_bpe_kernel.bpe_encode_kernel.py_func)
    cc.export("parity_train_kernel", PARITY_SIGNATURE)(_parity_kernel.parity_train_kernel.py_func)
    for name, (func, sig) in SPLIT_SIGNATURES.items():
        cc.export(name, sig)(getattr(_split_kernel, func).py_func)
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
        print(f"toktool: could not build the AOT merge loop ({type(e).__name__}: {e}); training will JIT-compile it instead", file=sys.stderr)
        return 0
    print(f"toktool: built the AOT merge loop in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
