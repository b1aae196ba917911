"""Character classes of the stage-2 scanner (a module of its own so that building the table does not
import numba: the counting processes should not pay for the compiler)."""

C_P = 0  # "punctuation": anything that is not \\s, \\p{L} or \\p{N}
C_L = 1  # \\p{L}
C_N = 2  # \\p{N}
C_SP = 3  # the space U+0020
C_NL = 4  # newline U+000A
C_WS = 5  # other \\s
