"""toktool: train, evaluate and transplant tokenizers. This is the public Python API.

Names are imported on first use (PEP 562), so `import toktool` stays instant and loads neither numpy,
numba, tokenizers nor torch; each function's docstring gives its arguments, results and errors. (The
packages behind `evaluate` and `transplant` are called `evaluation` and `transplantation`: a
subpackage named like a function of its parent would replace that function once imported.)

    count_corpus     text files -> WordCounts (pre-token counts, the artifact that shards)
    train_bpe        byte-level BPE, merges identical to Hugging Face's BpeTrainer
    train_superbpe   SuperBPE: subwords, then tokens across spaces (Liu et al. 2025)
    train_parity     parity-aware BPE across languages (Foroutan et al. 2025)
    extend           grow an existing byte-level BPE, its ids and merges kept
    load_tokenizer   any tokenizer file toktool reads (HF, sentencepiece, tiktoken)
    evaluate         compression, fairness and information metrics, side by side
    transplant       embeddings of a model for a new tokenizer, training-free
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._version import __version__
from .lazy import lazy_getattr

# public name -> module that defines it
_API = {
    "WordCounts": "toktool.count",
    "count_corpus": "toktool.count",
    "train_bpe": "toktool.train",
    "train_superbpe": "toktool.train",
    "train_parity": "toktool.train",
    "extend": "toktool.train",
    "Trained": "toktool.train",
    "load_tokenizer": "toktool.formats",
    "evaluate": "toktool.evaluation",
    "transplant": "toktool.transplantation",
    "ToktoolError": "toktool.errors",
    "InputError": "toktool.errors",
}

__all__ = [
    "InputError",
    "ToktoolError",
    "Trained",
    "WordCounts",
    "__version__",
    "count_corpus",
    "evaluate",
    "extend",
    "load_tokenizer",
    "train_bpe",
    "train_parity",
    "train_superbpe",
    "transplant",
]

if TYPE_CHECKING:  # for type checkers and IDEs; at run time the names load lazily
    from .count import WordCounts, count_corpus
    from .errors import InputError, ToktoolError
    from .evaluation import evaluate
    from .formats import load_tokenizer
    from .train import Trained, extend, train_bpe, train_parity, train_superbpe
    from .transplantation import transplant


__getattr__ = lazy_getattr("toktool", _API, globals())


def __dir__() -> list[str]:
    return sorted(__all__)
