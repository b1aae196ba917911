"""Pre-tokenization: named split presets and GPT-2's byte-level mapping (no numpy, no tokenizers)."""

from .bytelevel import (
    BYTE_TO_CHAR,
    CHAR_TO_BYTE,
    byte_alphabet_order,
    bytes_to_unicode,
    from_byte_level,
    to_byte_level,
)
from .presets import (
    DEFAULT_PRESET,
    PRESETS,
    SUPERBPE_STAGE1_PRESET,
    Preset,
    get_preset,
    make_splitter,
    special_splitter,
    unique_specials,
)

__all__ = [
    "BYTE_TO_CHAR",
    "CHAR_TO_BYTE",
    "DEFAULT_PRESET",
    "PRESETS",
    "SUPERBPE_STAGE1_PRESET",
    "Preset",
    "byte_alphabet_order",
    "bytes_to_unicode",
    "from_byte_level",
    "get_preset",
    "make_splitter",
    "special_splitter",
    "to_byte_level",
    "unique_specials",
]
