"""Sorted runs of counted pieces: what each counting process sends, and their merge.

A counter (count.scan_counter.ScanCounter) ends with its unique pieces in byte order, the order
WordCounts keeps: three arrays (bytes, offsets, counts) that a worker sends raw through a pipe. The
parent merges the processes' runs, summing the counts of equal pieces, so the result does not depend
on the number of processes (kernels/piece_sort.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..kernels.loader import get_kernel


def piece_kernels():
    """(merge_sorted, sort_pieces, gather) of kernels/piece_sort.py, AOT-built when available (no
    numba import in the counting processes), else JIT."""
    return tuple(get_kernel(name)[0] for name in ("pieces_merge_sorted_kernel", "pieces_sort_kernel", "pieces_gather_kernel"))


@dataclass
class SortedCounts:
    """Summed counts of every process, in byte order of the pieces (WordCounts' layout): data
    uint8[total bytes], offsets int64[n+1], counts int64[n]."""

    data: np.ndarray
    offsets: np.ndarray
    counts: np.ndarray


def merge_parts(parts: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> SortedCounts:
    """The processes' sorted parts as one SortedCounts: each process sorted its own share in
    parallel; this only merges sorted runs (equal pieces' counts summed)."""
    merge = piece_kernels()[0]
    data, offsets, counts = parts[0]
    for d, o, c in parts[1:]:
        data, offsets, counts = merge(data, offsets, counts, d, o, c)
    return SortedCounts(data, offsets, counts)
