"""Training (Hugging Face's `Trainer::train`): WordCounts -> vocabulary and merges -> `Trained`.

    bpe.py        byte-level BPE: words as arrays, the merge loop (kernels/bpe_train), `learn_bpe`
    extend.py     going on from an existing byte-level BPE (its encodings of the words, its ids)
    superbpe.py   SuperBPE's two stages (Liu et al. 2025)
    parity.py     parity-aware BPE (Foroutan et al. 2025)
    workflows.py  count -> train -> `Trained` for every algorithm, and the one train.json builder
"""

from ..lazy import lazy_getattr

_NAMES = {
    "BPEOptions": "..options",
    "CorpusOptions": "..options",
    "ParityOptions": "..options",
    "SuperOptions": "..options",
    "TrainHooks": ".workflows",
    "Trained": ".workflows",
    "extend": ".workflows",
    "language_sources": ".workflows",
    "train_bpe": ".workflows",
    "train_info": ".workflows",
    "train_parity": ".workflows",
    "train_superbpe": ".workflows",
}
__all__ = sorted(_NAMES)


# loaded on first use: `toktool.train.superbpe` and the like must not pull in numpy
__getattr__ = lazy_getattr(__name__, _NAMES, globals())
