"""Numba kernels: compiled scanners and tables that replace per-character Python on the hot paths."""
