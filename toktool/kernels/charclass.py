"""Character classes of the scanners (a module of its own so that building their tables does not import
numba: the counting processes should not pay for the compiler)."""

# Presets, as the kernel's `preset` argument.
GPT2 = 0
CL100K = 1
O200K = 2
LLAMA3 = 3
SUPERBPE = 4  # SuperBPE's stage 2 (pretokenize.SUPERBPE_PATTERN)

# Bits of the per-code-point flag table, one per character set the patterns use.
F_L = 1  # \p{L}
F_N = 2  # \p{N}
F_S = 4  # \s
F_P = 8  # [^\s\p{L}\p{N}]
F_X = 16  # [^\r\n\p{L}\p{N}]
F_U = 32  # [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}] (o200k)
F_W = 64  # [\p{Ll}\p{Lm}\p{Lo}\p{M}] (o200k)
