"""`--method auto` with a donor space: measure FVT and OMP on shared tokens held out as if they were
new, and keep the method whose rows come closer to the true ones.

Shared tokens are the only new-vocabulary tokens whose right rows are known (the model's own). A
seeded sample of them is held out: each gets an FVT row from the old pieces of its text as if the
old vocabulary lacked it (`held_out_pieces`), and an OMP row from its donor vector written over the
other anchors only. Both are compared with the token's true row by cosine (the direction: the
length of an OMP row is FVT's under the default `--omp-norm fvt`), on the input embeddings and, for
an untied model, on the output head too. The method with the higher mean cosine is used for the
real new tokens; a tie goes to FVT (no donor needed to reproduce it).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .match import Mapping, TokInfo, old_pieces

HELD_OUT = 1000  # at most this many shared tokens are held out
MIN_HELD_OUT = 10  # fewer usable ones than this: nothing to measure, OMP is kept


def held_out_pieces(old: TokInfo, key: bytes, own: int) -> list[int]:
    """The old tokenizer's pieces for the text `key` of a shared token (old id `own`) as if the old
    vocabulary did not have it: the text is cut in two at a character boundary, each half is
    encoded by the old tokenizer, and the cut with the fewest pieces wins (ties: the cut nearest
    the middle; a BPE token is the merge of two halves). [] when no cut gives pieces without `own`
    (a one-character token, or halves the old tokenizer cannot encode)."""
    try:
        text: str | None = key.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    cuts = [len(text[:i].encode("utf-8")) for i in range(1, len(text))] if text is not None else list(range(1, len(key)))
    best: list[int] = []
    best_score: tuple[int, float] | None = None
    for c in cuts:
        left, right = old_pieces(old, key[:c]), old_pieces(old, key[c:])
        if not left or not right:
            continue
        ids = left + right
        if own in ids:
            continue
        score = (len(ids), abs(c - len(key) / 2))
        if best_score is None or score < best_score:
            best, best_score = ids, score
    return best


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    return np.einsum("ij,ij->i", a, b) / np.maximum(na * nb, 1e-30)


def measure(old: TokInfo, new: TokInfo, mapping: Mapping, vec: np.ndarray, anchors: np.ndarray, matrices: dict[str, np.ndarray],
            run_omp: Callable[[np.ndarray, np.ndarray], object], seed: int, held_out: int = HELD_OUT) -> tuple[str, dict]:
    """Which of fvt / omp to use, and the measurement behind the choice.

    Args:
        old, new, mapping: the plan's tokenizers and vocabulary match.
        vec: donor vectors per new id.
        anchors: new ids of the OMP anchors (shared tokens with a donor vector, one per old row).
        matrices: "input" (and "output" for an untied head) old rows; other keys are ignored.
        run_omp: (targets, atoms) -> an OMPResult, the engine and settings of the real run.
        seed: the sample of held-out tokens.
        held_out: at most this many.

    Returns:
        ("fvt" | "omp", report dict: held_out, fvt_mean_cosine, omp_mean_cosine, chosen, why).
    """
    src = np.asarray(mapping.source, dtype=np.int64)
    order = np.random.default_rng(seed).permutation(len(anchors))
    limit = min(held_out, max(MIN_HELD_OUT, len(anchors) // 10))
    held: list[int] = []
    pieces: list[list[int]] = []
    for i in order:
        if len(held) >= limit:
            break
        j = int(anchors[i])
        a, b = new.canonical(j)
        key = a or b
        if key is None or len(key) < 2:
            continue
        p = held_out_pieces(old, key, int(src[j]))
        if len(p) >= 2:
            held.append(j)
            pieces.append(p)
    if len(held) < MIN_HELD_OUT:
        return "omp", {"held_out": len(held), "chosen": "omp", "why": f"only {len(held)} shared tokens could be held out (fewer than {MIN_HELD_OUT}): nothing to measure, omp kept"}
    held_arr = np.array(held, dtype=np.int64)
    rest = anchors[~np.isin(anchors, held_arr)]
    res = run_omp(vec[held_arr], vec[rest])
    fvt_cos, omp_cos = [], []
    for key, rows in matrices.items():
        if key not in ("input", "output"):
            continue
        truth = rows[src[held_arr]]
        fvt = np.stack([rows[p].astype(np.float64).mean(axis=0) for p in pieces])
        fvt_cos.append(_cosines(fvt, truth).mean())
        omp_cos.append(_cosines(res.apply(rows[src[rest]]), truth).mean())
    f, o = float(np.mean(fvt_cos)), float(np.mean(omp_cos))
    chosen = "omp" if o > f else "fvt"
    why = (f"{len(held)} shared tokens held out as if new: mean cosine to their true rows "
           f"omp {o:.4f}, fvt {f:.4f}; {chosen} is closer" + ("" if chosen == "omp" or o < f else " (a tie goes to fvt)"))
    return chosen, {"held_out": len(held), "fvt_mean_cosine": round(f, 4), "omp_mean_cosine": round(o, 4), "chosen": chosen, "why": why}
