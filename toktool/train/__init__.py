"""Training (Hugging Face's `Trainer::train`): WordCounts -> vocabulary and merges -> `Trained`.

    bpe.py        byte-level BPE: words as arrays, the merge loop (kernels/bpe_train), `learn_bpe`
    extend.py     going on from an existing byte-level BPE (its encodings of the words, its ids)
    superbpe.py   SuperBPE's two stages (Liu et al. 2025)
    parity.py     parity-aware BPE (Foroutan et al. 2025)
    workflows.py  count -> train -> `Trained` for every algorithm, and the one train.json builder
"""

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


def __getattr__(name: str):
    # the face loads its modules on first use: `toktool.train.superbpe` (light) must not pull in numpy
    module = _NAMES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
