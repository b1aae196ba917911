"""The same batched OMP as omp.py, in torch, for a GPU (or torch's CPU kernels).

Step for step the algorithm of `kernels.omp.omp_kernel`: candidate pre-selection by |cosine|, a scan in
the input dtype, modified Gram-Schmidt applied twice in float64, the same stopping rules, and a
triangular solve for the weights. Targets run in blocks; a target that has stopped keeps its
factorisation fixed (masked updates) so every row ends exactly where the CPU loop would end.
TF32 is switched off for the duration: a 10-bit mantissa would pick different atoms.
"""

from __future__ import annotations

import contextlib

import numpy as np

from ..errors import ToktoolError
from .omp import OMPResult


def _torch():
    try:
        import torch
    except ImportError:
        raise ToktoolError("--device needs torch: pip install 'toktool[gpu]'") from None
    return torch


def check_device(device: str) -> None:
    torch = _torch()
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ToktoolError(f"--device {device}: not a torch device (cpu, cuda, cuda:1, ...)") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ToktoolError(f"--device {device}: torch sees no CUDA device here (use --device cpu or leave it out)")


@contextlib.contextmanager
def _exact_matmul(torch):
    old = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old


def omp_torch(targets: np.ndarray, atoms: np.ndarray, k: int, candidates: int = 256, tol: float = 1e-4, dtype=np.float32, device: str = "cpu", block: int | None = None) -> OMPResult:
    torch = _torch()
    check_device(device)
    dev = torch.device(device)
    tdt = torch.float64 if np.dtype(dtype) == np.float64 else torch.float32
    n, d = targets.shape
    m = atoms.shape[0]
    if n == 0 or m == 0:
        return OMPResult(np.full((n, k), -1, np.int64), np.zeros((n, k)))
    with torch.no_grad(), _exact_matmul(torch):
        A = torch.from_numpy(np.ascontiguousarray(atoms, dtype=dtype)).to(dev)
        X = torch.from_numpy(np.ascontiguousarray(targets, dtype=dtype)).to(dev)
        norms = torch.sqrt((A.double() ** 2).sum(1))
        inv = torch.where(norms > 0, 1.0 / norms.clamp_min(1e-300), torch.zeros_like(norms)).to(tdt)
        n_cand = m if candidates <= 0 or candidates >= m else candidates
        kk = min(k, n_cand)
        if block is None:
            per_row = n_cand * d * A.element_size() + kk * d * 8 * 2
            budget = (2 << 30) if dev.type == "cuda" else (256 << 20)
            block = max(1, min(n, budget // max(per_row, 1)))
        unit = A * inv[:, None]
        idx_out = np.full((n, k), -1, dtype=np.int64)
        coef_out = np.zeros((n, k), dtype=np.float64)
        for s in range(0, n, block):
            x = X[s : s + block]
            b = x.shape[0]
            if n_cand == m:
                cand = torch.arange(m, device=dev).expand(b, m)
            else:
                c = (x @ unit.T).abs()
                cand = torch.sort(torch.topk(c, n_cand, dim=1, sorted=False).indices, dim=1).values
                del c
            idx, coef = _pursuit(torch, x, A, inv, cand, kk, tol * tol)
            idx_out[s : s + b, :kk] = idx.cpu().numpy()
            coef_out[s : s + b, :kk] = coef.cpu().numpy()
    return OMPResult(idx_out, coef_out)


def _pursuit(torch, x, A, inv, cand, k, tol2):
    b, d = x.shape
    dev = x.device
    rows = torch.arange(b, device=dev)
    D = A[cand]  # b x N x d, scan dtype
    w = inv[cand]
    r = x.double()
    rs = x.clone()
    xx = (r * r).sum(1)
    active = xx > 0
    q = torch.zeros((b, k, d), dtype=torch.float64, device=dev)
    R = torch.zeros((b, k, k), dtype=torch.float64, device=dev)
    z = torch.zeros((b, k), dtype=torch.float64, device=dev)
    used = torch.zeros(cand.shape, dtype=torch.bool, device=dev)
    picked = torch.full((b, k), -1, dtype=torch.int64, device=dev)
    for step in range(k):
        corr = torch.bmm(D, rs[:, :, None])[:, :, 0].abs() * w
        corr = corr.masked_fill(used, -1.0)
        bestv, best = corr.max(dim=1)
        active &= bestv > 0
        v = D[rows, best].double()
        an = (v * v).sum(1)
        for _ in range(2):
            if step:
                h = torch.einsum("bkd,bd->bk", q[:, :step], v) * active[:, None]
                R[:, :step, step] += h
                v = v - torch.einsum("bk,bkd->bd", h, q[:, :step])
        nv2 = (v * v).sum(1)
        active &= nv2 > 1e-10 * an
        nv = torch.sqrt(nv2).clamp_min(1e-300)
        R[:, step, step] = torch.where(active, nv, torch.ones_like(nv))
        qs = torch.where(active[:, None], v / nv[:, None], torch.zeros_like(v))
        q[:, step] = qs
        zs = (qs * r).sum(1)
        z[:, step] = zs
        r = r - zs[:, None] * qs
        rs = r.to(rs.dtype)
        used[rows, best] |= active
        picked[:, step] = torch.where(active, cand[rows, best], torch.full_like(best, -1))
        active &= (r * r).sum(1) > tol2 * xx
        if not bool(active.any()):
            break
    coef = torch.linalg.solve_triangular(R, z[:, :, None], upper=True)[:, :, 0]
    coef = torch.where(picked >= 0, coef, torch.zeros_like(coef))
    return picked, coef
