"""Counting (Hugging Face's `Trainer::feed`): text -> WordCounts, the artifact that shards.

    wordcounts.py      WordCounts and its file format
    regex_counter.py   the `regex` split (the reference, `count_plain`, and presets without a scanner)
    scan_counter.py    the compiled scanners (gpt2, gpt4, o200k, llama3, SuperBPE stage 2) as counters
    sorted_runs.py     what a counting process sends (its pieces in byte order) and the merge of runs
    one_pass.py        one pass over the text with every preset, in worker processes
    shards.py          counts directories: WordCounts hash-partitioned by word, plus a manifest
    splits.py          inputs cut into pieces of work for engines with many workers
    engines.py         the local pool or Ray (ray_engine.py, imported only when asked) into a directory
"""

from .engines import ENGINES, count_to_dir, count_with_engine
from .one_pass import count_corpus, count_corpus_multi, count_words, load_counts, make_counter
from .regex_counter import count_plain
from .wordcounts import WordCounts

__all__ = ["ENGINES", "WordCounts", "count_corpus", "count_to_dir", "count_with_engine", "count_corpus_multi", "count_plain", "count_words", "load_counts", "make_counter"]
