"""Training (Hugging Face's `Trainer::train`): WordCounts -> vocabulary and merges -> `Trained`.

    bpe.py        byte-level BPE: words as arrays, the merge loop (kernels/bpe_train), `learn_bpe`
    extend.py     going on from an existing byte-level BPE (its encodings of the words, its ids)
    superbpe.py   SuperBPE's two stages (Liu et al. 2025)
    parity.py     parity-aware BPE (Foroutan et al. 2025)
    workflows.py  count -> train -> `Trained` for every algorithm, and the one train.json builder
"""

from .workflows import (
    BPEOptions,
    CorpusOptions,
    ParityOptions,
    SuperOptions,
    Trained,
    TrainHooks,
    extend,
    language_sources,
    train_bpe,
    train_info,
    train_parity,
    train_superbpe,
)

__all__ = [
    "BPEOptions",
    "CorpusOptions",
    "ParityOptions",
    "SuperOptions",
    "TrainHooks",
    "Trained",
    "extend",
    "language_sources",
    "train_bpe",
    "train_info",
    "train_parity",
    "train_superbpe",
]
