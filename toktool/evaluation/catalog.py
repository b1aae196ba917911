"""Names and one-line definitions of the evaluate metrics, without importing numpy (the CLI's help
text needs them at start-up; the formulas live in metrics.py, the table in table.py)."""

from __future__ import annotations

# name -> (scope, one-line definition). scope: "lang" (per language and overall), "summary" (overall only)
METRICS: dict[str, tuple[str, str]] = {
    "bytes_per_token": ("lang", "UTF-8 bytes / tokens (higher = better compression)"),
    "chars_per_token": ("lang", "characters / tokens"),
    "fertility": ("lang", "tokens / whitespace words (n/a for scripts written without spaces)"),
    "nsl": ("lang", "tokens / baseline tokens on the same text (needs --baseline; Dagan et al. 2024)"),
    "token_premium": ("lang", "tokens / pivot-language tokens on parallel text (Petrov et al. 2023)"),
    "unk_rate": ("lang", "share of tokens that are the unknown token (text the tokenizer cannot represent)"),
    "entropy": ("lang", "Shannon entropy of the unigram token distribution, bits"),
    "renyi_efficiency": ("lang", "Rényi entropy H_alpha / log2|V| (Zouhar et al. 2023)"),
    "parity_ratio": ("summary", "max/min of per-language token counts on parallel text"),
    "gini": ("summary", "Gini of per-language tokens per byte (Tok##Suite; 0 = equal cost)"),
    "gini_lines": ("summary", "Gini of per-language token counts on parallel text (cost per aligned line)"),
    "vocab_utilization": ("summary", "share of non-special tokens produced at least once"),
    "never_used": ("summary", "non-special tokens never produced on this text"),
    "unreachable": ("summary", "tokens whose own string does not encode back to them (under-trained-token signal)"),
}
