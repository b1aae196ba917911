"""Character classes of the scanners (a module of its own so that building their tables does not import
numba: the counting processes should not pay for the compiler)."""

C_P = 0  # "punctuation": anything that is not \\s, \\p{L} or \\p{N}
C_L = 1  # \\p{L}
C_N = 2  # \\p{N}
C_SP = 3  # the space U+0020
C_NL = 4  # newline U+000A
C_WS = 5  # other \\s

# --- the byte-level presets' scanner (pretok_scan.py) ---------------------------------------------

# Presets, as the kernel's `preset` argument.
GPT2 = 0
CL100K = 1
O200K = 2
LLAMA3 = 3

# Bits of the per-code-point flag table, one per character set the patterns use.
F_L = 1  # \p{L}
F_N = 2  # \p{N}
F_S = 4  # \s
F_P = 8  # [^\s\p{L}\p{N}]
F_X = 16  # [^\r\n\p{L}\p{N}]
F_U = 32  # [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}] (o200k)
F_W = 64  # [\p{Ll}\p{Lm}\p{Lo}\p{M}] (o200k)
