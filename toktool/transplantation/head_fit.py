"""Output-head rows fitted to what the base model predicts (`transplant --fit-head TEXT`).

Why: a new vocabulary drops most old tokens. Where the base model would have predicted an old token
that is gone (" potato" when the new tokenizer spells it `Ġpot` + `ato`), the new model must put that
probability on the first new token of its text (`Ġpot`); a copied row gives `Ġpot` only what the base
model gave " pot", and the lost probability is spread over every token by the softmax, including
tokens that do not fit the context at all. The next-token probability of a new token t is the
base model's probability of t's text *as a prefix*: the sum over t itself and the dropped old tokens
whose text starts with t (exactly: whose new tokenization starts with t), i.e. a log-sum-exp of old
logits. A bias-free linear head cannot compute a log-sum-exp, but the final hidden states of real
text live near a low-dimensional set, and the least-squares row e_t minimising
sum_h (h.e_t - logsumexp_o h.r_o)^2 over the hidden states h of a calibration text comes close
(ridge regression, one solve for all rows: the hidden states' Gram matrix is shared).

The hidden states come from the transplanted model itself (copied, FVT/OMP rows) on the calibration
text, read at the input of its output layer, so the fit sees the contexts the new model will be in.
For a tied matrix the same row is also the token's input embedding, where the copied row is right;
the fitted row is blended in with weight `weight` (0.5 measured best on Gemma-3 270M <- SmolLM2:
docs/transplant.md). An untied head takes the fitted rows in full; the input rows do not change.

This is a least-squares fit on the model's own predictions, not training: no gradient step, no
labels, no parameter other than the rows of tokens that take over dropped tokens.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InputError, ToktoolError
from .match import Mapping, TokInfo, old_pieces

# positions per block of the target computation: (block x dropped tokens) float32 logits at a time
_BLOCK = 64
# calibration windows per forward pass
_BATCH = 16
# the fewest token positions a fit is made from (--fit-head-positions has the same minimum)
MIN_POSITIONS = 16


class _Reached(Exception):
    """Raised by the hook on the output layer once its input is taken."""


@dataclass
class Absorbed:
    """Old tokens no new row copies, each with the new token its text starts with.

    old_ids, first_new: int64[m], sorted by first_new (stable in old id). targets: int64[g], the new
    ids that absorb at least one old token (sorted); starts: int64[g], where each target's old ids
    begin in old_ids."""

    old_ids: np.ndarray
    first_new: np.ndarray
    targets: np.ndarray
    starts: np.ndarray


def absorbed_tokens(old: TokInfo, new: TokInfo, mapping: Mapping) -> Absorbed:
    """Which dropped old token's probability each new token takes over.

    A dropped old token is one that no row of the new model copies and that stands for text (not a
    special token or a token with a role such as eos, not a byte-fallback byte, not a partial UTF-8
    sequence of a byte-level vocabulary). Its text is encoded with the new tokenizer as FVT encodes new tokens with the old
    one (match.old_pieces); the first id takes it over. Special tokens of the new vocabulary never
    take one over."""
    copied = {s for s in mapping.source if s >= 0} | set(old.roles.values())
    special_rows = {j for j, h in enumerate(mapping.how) if h == "special"} | set(new.specials)
    keep_o: list[int] = []
    keep_t: list[int] = []
    for i in range(old.size):
        if i in copied or i in old.specials:
            continue
        key = old.canonical(i)[0]
        if not key:
            continue
        try:
            key.decode("utf-8")
        except UnicodeDecodeError:
            continue
        ids = old_pieces(new, key)
        if ids and ids[0] not in special_rows:
            keep_o.append(i)
            keep_t.append(ids[0])
    o = np.array(keep_o, dtype=np.int64)
    t = np.array(keep_t, dtype=np.int64)
    order = np.argsort(t, kind="stable")
    o, t = o[order], t[order]
    targets, starts = np.unique(t, return_index=True)
    return Absorbed(o, t, targets.astype(np.int64), starts.astype(np.int64))


def check_causal(config: dict, where: str) -> None:
    """Raise InputError unless config.json describes a causal LM (its `architectures` end in
    ForCausalLM, LMHeadModel or ForConditionalGeneration; a config without them is let through to
    transformers): a masked LM's head does not predict the next token."""
    arch = [a for a in config.get("architectures") or [] if isinstance(a, str)]
    if arch and not any(a.endswith(("ForCausalLM", "LMHeadModel", "ForConditionalGeneration")) for a in arch):
        raise InputError(f"{where}: --fit-head needs a causal LM; this model is {', '.join(arch)}")


@dataclass
class Calibration:
    """What a causal LM computes on calibration text, as far as its output layer is concerned.

    h: float32[n, hidden], the output layer's input at every position; next_ids: int64[n], the token
    that follows each position (-1 at the end of a window); text_bytes: UTF-8 bytes of the texts run."""

    h: np.ndarray
    next_ids: np.ndarray
    text_bytes: int

    def bits_per_byte(self, head: np.ndarray, softcap: float | None = None) -> float:
        """Cross-entropy of the next tokens under output rows `head` ([vocab, hidden]), in bits per
        byte of text (the final logits capped as tanh(x / c) * c when the model does that)."""
        keep = np.flatnonzero(self.next_ids >= 0)
        w = np.ascontiguousarray(head, dtype=np.float32)
        nats = 0.0
        for a in range(0, len(keep), _BLOCK):
            rows = keep[a : a + _BLOCK]
            lg = (self.h[rows] @ w.T).astype(np.float64)
            if softcap:
                lg = np.tanh(lg / softcap) * softcap
            mx = lg.max(1)
            lse = np.log(np.exp(lg - mx[:, None]).sum(1)) + mx
            nats += float((lse - lg[np.arange(len(rows)), self.next_ids[rows]]).sum())
        return nats / np.log(2) / max(1, self.text_bytes)


def head_inputs(model_dir: str, tokenizer, texts: Sequence[str], max_positions: int, max_length: int = 512, log: Callable[[str], None] = lambda s: None, where: str = "") -> Calibration:
    """The causal LM at `model_dir` run on `texts`: the input of its output layer at every position
    (after the final norm, whatever the architecture), at most max_positions of them, whole texts
    only (at least one).

    Each text is encoded with `tokenizer` (a `tokenizers.Tokenizer`, no special tokens), cut into
    windows of at most `max_length` tokens and run after the model's bos token (when it has one).
    Raises ToktoolError when torch or transformers is missing, InputError when transformers cannot
    load the directory as a causal LM (named as `where` when given)."""
    try:
        import torch
        import transformers
    except ImportError as e:
        raise ToktoolError(f"--fit-head runs the model through transformers and torch ({e.name} is not installed): pip install 'toktool[fit]'") from None
    transformers.logging.set_verbosity_error()  # its notes and progress bars are not ours to print
    transformers.utils.logging.disable_progress_bar()
    try:
        model = transformers.AutoModelForCausalLM.from_pretrained(model_dir, local_files_only=True).float().eval()
    except Exception as e:  # transformers raises ValueError, OSError, KeyError... for what it cannot load
        raise InputError(f"{where or model_dir}: transformers cannot load the transplanted model as a causal LM for --fit-head ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})") from None
    head = model.get_output_embeddings()
    if head is None:
        raise InputError(f"{where or model_dir}: the model has no output layer for --fit-head")
    bos = model.config.bos_token_id
    bos = bos[0] if isinstance(bos, list) and bos else bos
    windows: list[list[int]] = []
    total = 0
    text_bytes = 0
    for text in texts:
        ids = tokenizer.encode(text, add_special_tokens=False).ids
        mine = [w for w in (([bos] if isinstance(bos, int) else []) + ids[a : a + max_length] for a in range(0, len(ids), max_length)) if len(w) >= 2]
        size = sum(map(len, mine))
        if windows and total + size > max_positions:
            break
        windows += mine
        total += size
        text_bytes += len(text.encode("utf-8")) if mine else 0
    if not windows:
        raise InputError("--fit-head: the calibration text has no tokens")
    got: list[np.ndarray] = []
    seen: list = []

    def take(_module, inp):
        # the head's input is all we need: stop before it computes (batch x length x vocab) logits
        seen.append(inp[0].detach())
        raise _Reached

    hook = head.register_forward_pre_hook(take)
    try:
        with torch.no_grad():
            # consecutive windows, padded on the right (masked; causal attention never lets a real
            # position see the padding after it)
            for a in range(0, len(windows), _BATCH):
                batch = windows[a : a + _BATCH]
                width = max(map(len, batch))
                ids = torch.zeros((len(batch), width), dtype=torch.long)
                mask = torch.zeros((len(batch), width), dtype=torch.long)
                for r, w in enumerate(batch):
                    ids[r, : len(w)] = torch.tensor(w)
                    mask[r, : len(w)] = 1
                seen.clear()
                try:
                    model(input_ids=ids, attention_mask=mask)
                except _Reached:
                    pass
                out = seen[-1].float()
                for r, w in enumerate(batch):
                    got.append(out[r, : len(w)].numpy().copy())
    finally:
        hook.remove()
    del model, head
    h = np.concatenate(got)
    nxt = np.concatenate([np.array(w[1:] + [-1], dtype=np.int64) for w in windows])
    log(f"fit-head: {h.shape[0]} positions of calibration text")
    return Calibration(h.astype(np.float32, copy=False), nxt, text_bytes)


def fit_head_rows(h: np.ndarray, head_new: np.ndarray, head_old: np.ndarray | Callable[[np.ndarray], np.ndarray], absorbed: Absorbed, ridge: float = 1e-3) -> tuple[np.ndarray, dict]:
    """Least-squares rows for the tokens that take over dropped old tokens.

    h: float32[n, d] hidden states; head_new: [new vocab, d] the new model's output rows (their
    current values are the ridge prior and the target's own term); head_old: [old vocab, d] the base
    model's output rows, or a function returning the rows of the old ids it is given (so that the
    whole old matrix need not be in memory). For each target t the regression target at position i is
    logsumexp(h_i.head_new[t], h_i.head_old[o] for o absorbed by t); the rows solve
    (H'H + lam I) e = H'z + lam head_new[t], lam = ridge * trace(H'H) / d.
    Returns (float32[g, d] rows for absorbed.targets, stats: positions, targets, absorbed tokens, root
    mean square error of the logits against the targets before and after, in nats)."""
    n, d = h.shape
    g = len(absorbed.targets)
    if g == 0:
        return np.zeros((0, d), dtype=np.float32), {"positions": int(n), "targets": 0, "absorbed_old_tokens": 0}
    # the dropped tokens' rows in target order (contiguous per target, for reduceat)
    rows_of = head_old if callable(head_old) else head_old.__getitem__
    a_old = np.ascontiguousarray(rows_of(absorbed.old_ids), dtype=np.float32)
    r_new = np.ascontiguousarray(head_new[absorbed.targets], dtype=np.float32)
    gram = np.zeros((d, d), dtype=np.float64)
    rhs = np.zeros((d, g), dtype=np.float64)
    zz = np.zeros(g, dtype=np.float64)
    for a in range(0, n, _BLOCK):
        hc = h[a : a + _BLOCK]
        lo = hc @ a_old.T
        ln = hc @ r_new.T
        mx = np.maximum(lo.max(1), ln.max(1))[:, None]
        np.subtract(lo, mx, out=lo)
        np.exp(lo, out=lo)
        # float32: terms more than ~87 nats below the position's best logit underflow; such a target
        # is floored there (a probability below 1e-38 of the best one, nothing a softmax sees)
        s = np.add.reduceat(lo, absorbed.starts, axis=1).astype(np.float64) + np.exp(ln - mx)
        z = np.log(np.maximum(s, 1e-38)) + mx
        hc64 = hc.astype(np.float64)
        z = z.astype(np.float64)
        gram += hc64.T @ hc64
        rhs += hc64.T @ z
        zz += (z * z).sum(0)
    del a_old  # before the solve's (targets x d) float64 arrays: the two would make the peak
    lam = ridge * float(np.trace(gram)) / d
    prior = r_new.astype(np.float64)
    rows = np.linalg.solve(gram + lam * np.eye(d), rhs + lam * prior.T).T

    def rmse(e: np.ndarray) -> float:
        # sum_i (z - h.e)^2 = z'z - 2 e'H'z + e'H'He, per target, from the accumulated sums
        sq = zz - 2 * np.einsum("gd,dg->g", e, rhs) + ((e @ gram) * e).sum(1)
        return float(np.sqrt(np.maximum(sq, 0).sum() / (n * g)))

    stats = {
        "positions": int(n),
        "targets": int(g),
        "absorbed_old_tokens": int(len(absorbed.old_ids)),
        "rmse_before": round(rmse(prior), 4),
        "rmse_after": round(rmse(rows), 4),
    }
    return rows.astype(np.float32), stats


def fit_head(model_dir: str, tokenizer, texts: Sequence[str], old: TokInfo, new: TokInfo, mapping: Mapping, head_new: Callable[[], np.ndarray], old_rows: Callable[[np.ndarray], np.ndarray], max_positions: int, log: Callable[[str], None] = lambda s: None, where: str = "") -> tuple[np.ndarray, np.ndarray, dict]:
    """The whole step: (target new ids int64[g], fitted rows float32[g, d], report). `model_dir` is
    the transplanted model as first written; `head_new()` returns its output rows and `old_rows(ids)`
    those rows of the base model's output matrix, both called after the model has run, so that
    neither is in memory with it; see head_inputs and fit_head_rows."""
    t0 = time.perf_counter()
    absorbed = absorbed_tokens(old, new, mapping)
    log(f"fit-head: {len(absorbed.old_ids)} dropped old tokens taken over by {len(absorbed.targets)} new tokens")
    cal = head_inputs(model_dir, tokenizer, texts, max_positions, log=log, where=where)
    if len(cal.h) < MIN_POSITIONS:
        raise InputError(f"--fit-head: the calibration text gives only {len(cal.h)} token positions (at least {MIN_POSITIONS}; a few thousand are what the fit is for)")
    rows, stats = fit_head_rows(cal.h, head_new(), old_rows, absorbed)
    stats["seconds"] = round(time.perf_counter() - t0, 3)
    return absorbed.targets, rows, stats
