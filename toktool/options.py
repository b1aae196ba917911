"""Every option of the library with its default, in one light module (no numpy, numba or tokenizers).

The library's functions take these dataclasses (or their fields as keywords, with these defaults),
and the command line reads its defaults and choices from here, so a default is written once and
`toktool --help` starts without loading the heavy modules.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .corpus import ERROR_POLICIES, Sampling
from .errors import ToktoolError
from .pretokenize import DEFAULT_PRESET, SUPERBPE_STAGE1_PRESET

# what `load_tokenizer` reads, for help texts
FORMATS_HELP = (
    "a toktool output dir, a Hugging Face tokenizer.json or model dir (tokenizer.json, or vocab.json + "
    "merges.txt), a sentencepiece .model, or a tiktoken rank file (.tiktoken, or Llama 3's tokenizer.model)"
)

# tiktoken encodings by file name -> the split pattern they were built with (our presets hold them)
TIKTOKEN_PATTERNS = {
    "gpt2": "gpt2",
    "r50k_base": "gpt2",
    "p50k_base": "gpt2",
    "p50k_edit": "gpt2",
    "cl100k_base": "gpt4",
    "cl100k": "gpt4",
    "gpt4": "gpt4",
    "o200k_base": "o200k",
    "o200k": "o200k",
    "llama3": "llama3",
}


# --- reading and counting text ----------------------------------------------------------------


@dataclass
class CorpusOptions:
    """How text inputs are read and counted (shared by every algorithm).

    text_field: the JSON-lines field or the Parquet/Arrow column holding the text (dots for
    nesting); None reads plain text (and the "text" column of columnar inputs).
    errors: invalid UTF-8 policy per line, one of ERROR_POLICIES (strict, replace, skip).
    workers: counting processes (None: all cores the process may use).
    max_bytes, sample_docs, seed: train on a prefix of at most max_bytes UTF-8 bytes and/or a
    deterministic sample of documents (corpus.Sampling)."""

    text_field: str | None = None
    errors: str = "replace"
    workers: int | None = None
    max_bytes: int | None = None
    sample_docs: float | None = None
    seed: int = 0

    def sampling(self) -> Sampling | None:
        """The corpus.Sampling these options ask for (None: every text). Raises ToktoolError for a
        fraction outside (0, 1] or max_bytes < 1."""
        if self.max_bytes is None and self.sample_docs is None:
            return None
        return Sampling(self.max_bytes, self.sample_docs, self.seed)

    def check(self) -> None:
        """Raises ToktoolError for an unknown error policy or a worker count below 1."""
        if self.errors not in ERROR_POLICIES:
            raise ToktoolError(f"errors must be one of {', '.join(ERROR_POLICIES)}, not {self.errors!r}")
        if self.workers is not None and self.workers < 1:
            raise ToktoolError(f"workers must be at least 1, not {self.workers}")


# counting engines: the local process pool, or a Ray cluster (`pip install 'toktool[ray]'`)
ENGINES = ("local", "ray")
# shards of a counts directory (`toktool count -o DIR`): each word goes to one, by a hash of its bytes
DEFAULT_PARTITIONS = 16


# --- training -----------------------------------------------------------------------------------


@dataclass
class BPEOptions:
    """Byte-level BPE (Sennrich et al. 2016; GPT-2's byte-level variant, Radford et al. 2019).

    vocab_size: tokens in all, special tokens included (>= 256 + specials).
    pretokenizer: a preset name (pretokenize.PRESETS).
    min_frequency: stop when the best pair occurs fewer times than this.
    special_tokens: given the first ids, in this order; cut out of the text before counting.
    max_token_length: longest token in bytes (None: no limit)."""

    vocab_size: int
    pretokenizer: str = DEFAULT_PRESET
    min_frequency: int = 0
    special_tokens: list[str] = field(default_factory=list)
    max_token_length: int | None = None


# --stage2-pretokenizer choices -> presets: the authors' later recipe, the paper's rule
STAGE2_PRESETS = {"superbpe": "superbpe", "digits": "superbpe-digits"}


@dataclass
class SuperOptions:
    """SuperBPE stage 1 + 2, or extending a base (transition None). Sizes in tokens, lengths in
    bytes; see workflows.train_superbpe for each option's meaning."""

    vocab_size: int
    transition: int | None  # vocabulary size at which stage 2 starts (None with --base)
    stage1_pretokenizer: str = SUPERBPE_STAGE1_PRESET
    stage2_pretokenizer: str = "superbpe"
    max_words: int = 4
    allow_colon_space: bool = False
    max_line_bytes: int = 8192
    min_frequency: int = 0
    max_token_length: int | None = None
    special_tokens: list[str] = field(default_factory=list)


@dataclass
class ParityOptions:
    """Parity-aware BPE options; see workflows.train_parity for each one's meaning."""

    vocab_size: int
    min_frequency: int = 2  # the reference's default
    special_tokens: list[str] = field(default_factory=list)
    global_merges: int = 0
    window: int = 0
    alpha: float = 2.0
    target_ratios: dict[str, float] | None = None  # ratio variant (no dev set)
    skip_exhausted: bool = False  # False: stop like the reference when the chosen language runs dry

    @property
    def variant(self) -> str:
        """ratio (no dev set), window, hybrid or base: which variant of the paper these options run."""
        if self.target_ratios is not None:
            return "ratio"
        return "window" if self.window else ("hybrid" if self.global_merges else "base")


# --- evaluate and transplant --------------------------------------------------------------------


@dataclass
class EvalOptions:
    """evaluate options; see `toktool.evaluate` for each one's meaning."""

    metrics: list[str] | None = None  # None: every metric the data supports
    pivot: str | None = None
    baseline: object = None  # a formats.Adapter (not imported here: this module stays light)
    alpha: float = 2.5
    errors: str = "strict"
    list_tokens: bool = False  # full lists of never-used / unreachable tokens in the JSON


# `transplant --method` choices: auto = fvt, or with a donor space fvt or omp as measured on
# held-out shared tokens (transplantation/choose.py)
METHODS = ("auto", "zero", "random", "mean", "fvt", "omp")


@dataclass
class TransplantOptions:
    """Transplant options; see `toktool.transplant` for each one's meaning."""

    method: str = "auto"
    k: int = 64
    candidates: int = 256
    donor: str | None = None
    aux_corpus: list[str] = field(default_factory=list)
    aux_dim: int = 256
    aux_window: int = 5
    aux_min_count: int = 30
    device: str | None = None  # None: numpy/Numba; else a torch device
    seed: int = 0
    allow_pickle: bool = False
    add_specials: bool = True
    precision: str = "fp32"
    omp_norm: str = "fvt"  # fvt: rescale each OMP row to its FVT row's length; none: as solved
    calibrate: str = "rank"  # rank: move fvt/omp rows along the frequency direction towards their new id's rank; none: as made
    fit_head: list[str] = field(default_factory=list)  # calibration text: output rows fitted to the base model's predictions
    fit_head_weight: float = 0.5  # tied matrices: weight of the fitted row against the copied/approximated one
    fit_head_positions: int = 16384  # token positions of calibration text run through the model

    def resolved_method(self) -> str:
        """The method a plan starts from: auto with a donor space is "omp" here, and the rows step
        measures it against fvt (transplantation/choose.py) before computing any new row."""
        if self.method != "auto":
            return self.method
        return "omp" if (self.donor or self.aux_corpus) else "fvt"
