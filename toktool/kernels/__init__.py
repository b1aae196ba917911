"""Every Numba kernel of toktool, beside its pure-Python twin (`reference.py`).

Kernels take and return flat numpy arrays only (int32 symbols, int64 counts and offsets, uint8
bytes) and import nothing of toktool but `errors`. `loader` picks the ahead-of-time build when it
matches the sources, else the JIT functions; `build_aot` makes that build.

    hashtable.py    open-addressing tables, FNV-1a, array growth
    heap.py         the merge loop's max-heap and the encoder's min-queue
    token_table.py  interning token byte strings; SuperBPE's stage-2 filter
    bpe_train.py    the BPE merge loop (Hugging Face BpeTrainer semantics)
    bpe_encode.py   BPE encoding of words with a ranked merge list
    parity_train.py the parity-aware BPE merge loop
    pretok_scan.py  the gpt2, gpt4, o200k, llama3 and SuperBPE stage-2 pre-tokenizers as one scanner
                    and piece counter
    piece_sort.py   counted pieces in byte order, and the merge of processes' sorted runs
    omp.py          batched orthogonal matching pursuit (JIT only; driven by transplantation/omp.py)
    charclass.py    character classes of the scanners (numba-free)
    reference.py    pure-Python twins, for the tests
"""
