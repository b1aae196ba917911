"""Hugging Face model directories: find the embedding tensors, read them, write a new directory.

Only the embedding rows change in a transplant, so the writer streams every other tensor's bytes
from the source file unchanged (the `safetensors` library can only save whole dicts held in memory,
which for a 7B model means 14+ GB for nothing). The on-disk format is simple and documented
(8-byte little-endian header length, a JSON header of dtype/shape/offsets, then raw little-endian
data), so the header is parsed and checked here; the `safetensors` library stays the reader of
record in the tests and for `transformers`.

The source directory is only ever opened for reading.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError

# safetensors dtype -> numpy dtype of the stored bytes (BF16 has none: handled as uint16 bits)
_DTYPES = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
_FLOAT = {"F64", "F32", "F16", "BF16"}

# Where architectures keep their input embeddings and output heads (checked in this order).
INPUT_NAMES = (
    "model.embed_tokens.weight",  # llama, mistral, qwen, gemma, smollm
    "embeddings.word_embeddings.weight",  # bert (bare), roberta (bare)
    "bert.embeddings.word_embeddings.weight",
    "roberta.embeddings.word_embeddings.weight",
    "transformer.wte.weight",  # gpt2
    "wte.weight",
    "gpt_neox.embed_in.weight",
    "model.decoder.embed_tokens.weight",  # opt
    "transformer.word_embeddings.weight",  # bloom
    "word_embeddings.weight",
    "shared.weight",  # t5
    "model.shared.weight",  # bart
    "embed_tokens.weight",
)
OUTPUT_NAMES = ("lm_head.weight", "embed_out.weight", "output.weight", "cls.predictions.decoder.weight")
BIAS_NAMES = ("cls.predictions.bias", "cls.predictions.decoder.bias", "lm_head.bias", "final_logits_bias")
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json")
PICKLE_FILES = ("pytorch_model.bin", "pytorch_model.bin.index.json")


@dataclass
class TensorInfo:
    name: str
    file: Path
    dtype: str
    shape: tuple[int, ...]
    start: int  # absolute byte offset in the file
    end: int


@dataclass
class ModelDir:
    """A model directory opened for reading: config, tensor locations, the embedding roles."""

    path: Path
    config: dict
    tensors: dict[str, TensorInfo]
    files: list[Path]  # weight files, in index order
    index: dict | None  # model.safetensors.index.json, when sharded
    input_name: str
    output_name: str | None  # None: the head is tied to the input embeddings (or the model has none)
    bias_name: str | None = None
    tied: bool = True
    pickled: bool = False  # weights came from a .bin (only with allow_pickle)
    _pickle_state: dict = field(default_factory=dict, repr=False)

    @property
    def vocab_rows(self) -> int:
        return self.tensors[self.input_name].shape[0]

    @property
    def hidden(self) -> int:
        return self.tensors[self.input_name].shape[1]

    def read(self, name: str) -> np.ndarray:
        """The tensor as float32 (float64 stays float64), read from disk now.

        Raises InputError when the file ends before the tensor does. F32 is read straight into
        the returned array (one copy of the matrix in memory, not the file bytes plus a decoded
        copy); other dtypes are read as bytes and converted.
        """
        if self.pickled:
            return np.array(self._pickle_state[name], dtype=np.float32)
        t = self.tensors[name]
        size = t.end - t.start
        with open(t.file, "rb") as f:
            f.seek(t.start)
            if t.dtype == "F32" and np.dtype("<f4") == np.dtype(np.float32):
                arr = np.empty(t.shape, dtype=np.float32)
                view, got = memoryview(arr.reshape(-1)).cast("B"), 0
                while got < size:
                    n = f.readinto(view[got:])
                    if not n:
                        break
                    got += n
                if got != size:
                    raise InputError(f"{t.file}: truncated (tensor {name} runs past the end of the file)")
                return arr
            raw = f.read(size)
        if len(raw) != size:
            raise InputError(f"{t.file}: truncated (tensor {name} runs past the end of the file)")
        return decode(raw, t.dtype, t.shape)

    def read_rows(self, name: str, rows: np.ndarray, block: int = 16384) -> np.ndarray:
        """Rows `rows` (int64, any order) of a 2-D tensor as float32 (float64 stays float64), read
        block by block: only the rows asked for are held, not the whole matrix. Raises InputError when
        the file ends before the tensor does."""
        if self.pickled:
            return np.array(self._pickle_state[name], dtype=np.float32)[rows]
        t = self.tensors[name]
        n, d = t.shape
        item = np.dtype(_DTYPES[t.dtype]).itemsize
        out = np.empty((len(rows), d), dtype=np.float64 if t.dtype == "F64" else np.float32)
        order = np.argsort(rows, kind="stable")
        sorted_rows = rows[order]
        with open(t.file, "rb") as f:
            for a in range(0, n, block):
                lo, hi = np.searchsorted(sorted_rows, [a, min(n, a + block)])
                if lo == hi:
                    continue
                b = min(n, a + block)
                f.seek(t.start + a * d * item)
                raw = f.read((b - a) * d * item)
                if len(raw) != (b - a) * d * item:
                    raise InputError(f"{t.file}: truncated (tensor {name} runs past the end of the file)")
                out[order[lo:hi]] = decode(raw, t.dtype, (b - a, d))[sorted_rows[lo:hi] - a]
        return out


def decode(raw: bytes, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    arr = np.frombuffer(raw, dtype=_DTYPES[dtype]).reshape(shape)
    if dtype == "BF16":
        return (arr.astype(np.uint32) << 16).view(np.float32)
    if dtype == "F64":
        return arr.astype(np.float64)
    return arr.astype(np.float32)


def encode(arr: np.ndarray, dtype: str) -> bytes:
    """Array -> the stored bytes of `dtype` (BF16 rounded to nearest even, as torch does)."""
    if dtype == "BF16":
        bits = np.ascontiguousarray(arr, dtype=np.float32).view(np.uint32)
        rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
        nan = np.isnan(arr)
        out = rounded.astype(np.uint16)
        out[nan] = 0x7FC0
        return out.astype("<u2").tobytes()
    return np.ascontiguousarray(arr, dtype=_DTYPES[dtype]).tobytes()


def read_header(path: Path) -> tuple[dict, int]:
    """Parse and check a safetensors header; returns (header, data start offset)."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise InputError(f"{path}: not a safetensors file (too short)")
            (n,) = struct.unpack("<Q", head)
            if n > min(size - 8, 100_000_000):
                raise InputError(f"{path}: not a safetensors file (bad header length)")
            text = f.read(n)
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror or e}") from None
    try:
        header = json.loads(text.decode("utf-8"))
        if not isinstance(header, dict):
            raise ValueError
    except (UnicodeDecodeError, ValueError):
        raise InputError(f"{path}: not a safetensors file (corrupt header)") from None
    base = 8 + n
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (a, b) = meta["dtype"], tuple(int(s) for s in meta["shape"]), meta["data_offsets"]
        except (KeyError, TypeError, ValueError):
            raise InputError(f"{path}: corrupt header entry for tensor {name!r}") from None
        if dtype not in _DTYPES:
            continue  # e.g. F8 types: never an embedding we touch; copied as raw bytes
        if not 0 <= a <= b or base + b > size or b - a != int(np.prod(shape, dtype=np.int64)) * _DTYPES[dtype].itemsize:
            raise InputError(f"{path}: corrupt or truncated (tensor {name!r} does not fit the file)")
    return header, base


def _weight_files(path: Path, allow_pickle: bool) -> tuple[list[Path], dict | None, bool]:
    if (path / "model.safetensors").is_file():
        return [path / "model.safetensors"], None, False
    idx = path / "model.safetensors.index.json"
    if idx.is_file():
        try:
            index = json.loads(idx.read_text(encoding="utf-8"))
            shards = list(dict.fromkeys(index["weight_map"].values()))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            raise InputError(f"{idx}: corrupt shard index") from None
        files = [path / s for s in shards]
        for f in files:
            if not f.is_file():
                raise InputError(f"{idx}: shard {f.name} is missing")
        return files, index, False
    for name in PICKLE_FILES:
        if (path / name).is_file():
            if not allow_pickle:
                raise InputError(
                    f"{path}: weights are a pickle ({name}); loading one can run arbitrary code. "
                    "Convert it to safetensors, or pass --allow-pickle if you trust its source"
                )
            return [path / name], None, True
    raise InputError(f"{path}: no model weights found (model.safetensors, a sharded index, or pytorch_model.bin)")


def open_model(path: str | Path, allow_pickle: bool = False) -> ModelDir:
    """Open an HF model directory and locate its input embeddings and output head."""
    p = Path(path)
    if not p.is_dir():
        raise InputError(f"{p}: not a model directory" if p.exists() else f"{p}: no such model directory")
    cfg_path = p / "config.json"
    if not cfg_path.is_file():
        raise InputError(f"{p}: no config.json (not a Hugging Face model directory)")
    try:
        config = json.loads(cfg_path.read_text(encoding="utf-8"))
        if not isinstance(config, dict):
            raise ValueError
    except (OSError, UnicodeDecodeError, ValueError):
        raise InputError(f"{cfg_path}: not valid JSON") from None
    files, index, pickled = _weight_files(p, allow_pickle)
    tensors: dict[str, TensorInfo] = {}
    state: dict = {}
    if pickled:
        state = _load_pickle(files[0])
        for name, arr in state.items():
            tensors[name] = TensorInfo(name, files[0], "F32", tuple(arr.shape), 0, 0)
    else:
        for f in files:
            header, base = read_header(f)
            for name, meta in header.items():
                if name == "__metadata__" or meta["dtype"] not in _DTYPES:
                    continue
                a, b = meta["data_offsets"]
                tensors[name] = TensorInfo(name, f, meta["dtype"], tuple(meta["shape"]), base + a, base + b)
    input_name = _find_input(tensors, config, p)
    rows, hidden = tensors[input_name].shape
    output_name = next((n for n in OUTPUT_NAMES if n in tensors and n != input_name), None)
    if output_name is not None and tensors[output_name].shape != (rows, hidden):
        raise InputError(f"{p}: output head {output_name} has shape {tensors[output_name].shape}, input embeddings {(rows, hidden)}")
    bias_name = next((n for n in BIAS_NAMES if n in tensors and tensors[n].shape[-1] == rows), None)
    # An explicit tie_word_embeddings wins (transformers re-ties on load and ignores a stored head);
    # without it the class default varies by architecture, so a stored head is tied only if its
    # bytes equal the input embeddings'.
    tie = config.get("tie_word_embeddings")
    tied = output_name is None or bool(tie) or (tie is None and _same_bytes(tensors, input_name, output_name))
    m = ModelDir(p, config, tensors, files, index, input_name, output_name, bias_name, tied, pickled)
    m._pickle_state = state
    return m


def _same_bytes(tensors: dict[str, TensorInfo], a: str, b: str) -> bool:
    """A checkpoint may store a tied head twice; it is tied only if the bytes agree."""
    ta, tb = tensors[a], tensors[b]
    if ta.dtype != tb.dtype or ta.shape != tb.shape or ta.end == 0:
        return False
    with open(ta.file, "rb") as fa, open(tb.file, "rb") as fb:
        fa.seek(ta.start)
        fb.seek(tb.start)
        left = ta.end - ta.start
        while left:
            n = min(left, 1 << 24)
            if fa.read(n) != fb.read(n):
                return False
            left -= n
    return True


def _find_input(tensors: dict[str, TensorInfo], config: dict, p: Path) -> str:
    for n in INPUT_NAMES:
        if n in tensors and len(tensors[n].shape) == 2:
            return n
    vocab = config.get("vocab_size")
    guesses = [n for n, t in tensors.items() if len(t.shape) == 2 and t.shape[0] == vocab and "embed" in n and t.dtype in _FLOAT]
    if len(guesses) == 1:
        return guesses[0]
    raise InputError(f"{p}: no input embedding tensor found (looked for {', '.join(INPUT_NAMES[:3])}, ...)")


def _load_pickle(path: Path) -> dict:
    try:
        import torch
    except ImportError:
        raise InputError(f"{path}: reading a .bin checkpoint needs torch (pip install 'toktool[gpu]')") from None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise InputError(f"{path}: cannot load the pickle ({type(e).__name__})") from None
    return {k: v.float().numpy() for k, v in state.items() if hasattr(v, "numpy")}


# --- writing --------------------------------------------------------------------------------------

TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "tokenizer.model",
    "spiece.model",
    "sentencepiece.bpe.model",
)


def write_safetensors(out: Path, src: Path | None, header: dict, base: int, replaced: dict[str, np.ndarray]) -> int:
    """Write `out` with the tensors of `header` in their order, new bytes for `replaced`, the
    source bytes for the rest. Returns the data size."""
    entries = [(k, v) for k, v in header.items() if k != "__metadata__"]
    entries.sort(key=lambda kv: kv[1]["data_offsets"][0])
    new_header: dict = {}
    if "__metadata__" in header:
        new_header["__metadata__"] = header["__metadata__"]
    payloads: list[tuple[str, bytes | tuple[int, int]]] = []
    offset = 0
    for name, meta in entries:
        if name in replaced:
            data = encode(replaced[name], meta["dtype"])
            shape = list(replaced[name].shape)
            payloads.append((name, data))
            size = len(data)
        else:
            a, b = meta["data_offsets"]
            shape = meta["shape"]
            payloads.append((name, (base + a, base + b)))
            size = b - a
        new_header[name] = {"dtype": meta["dtype"], "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(new_header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # data starts 8-byte aligned, as the reference writer does
    with open(out, "wb") as f, (open(src, "rb") if src is not None else contextlib.nullcontext()) as s:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for _, payload in payloads:
            if isinstance(payload, bytes):
                f.write(payload)
            else:
                s.seek(payload[0])
                left = payload[1] - payload[0]
                while left:
                    chunk = s.read(min(left, 1 << 24))
                    if not chunk:
                        raise InputError(f"{src}: truncated")
                    f.write(chunk)
                    left -= len(chunk)
    return offset


def write_model(model: ModelDir, out: Path, replaced: dict[str, np.ndarray], config_updates: dict, extra_files: dict[str, bytes]) -> None:
    """Fill the (empty, temporary) directory `out`: copies of everything but the weight files that
    hold a replaced tensor, the config and the tokenizer files."""
    replaced_files = {model.tensors[n].file for n in replaced}
    skip = {"config.json", *TOKENIZER_FILES, *PICKLE_FILES}
    for item in sorted(model.path.iterdir()):
        if item.name in skip or item.name.startswith("."):
            continue
        if item.is_dir():
            shutil.copytree(item, out / item.name)
        elif item not in replaced_files and item.name != "model.safetensors.index.json":
            shutil.copyfile(item, out / item.name)
    if model.pickled:
        _write_from_pickle(model, out, replaced)
    else:
        total = 0
        for f in model.files:
            header, base = read_header(f)
            if f in replaced_files:
                total += write_safetensors(out / f.name, f, header, base, {k: v for k, v in replaced.items() if model.tensors[k].file == f})
            else:
                total += sum(m["data_offsets"][1] - m["data_offsets"][0] for k, m in header.items() if k != "__metadata__")
        if model.index is not None:
            index = dict(model.index)
            index["metadata"] = {**index.get("metadata", {}), "total_size": total}
            (out / "model.safetensors.index.json").write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
    config = {**model.config, **config_updates}
    (out / "config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    for name, data in extra_files.items():
        (out / name).write_bytes(data)


def _write_from_pickle(model: ModelDir, out: Path, replaced: dict[str, np.ndarray]) -> None:
    """A trusted .bin is rewritten as model.safetensors (never as a new pickle)."""
    header: dict = {}
    blobs: dict[str, np.ndarray] = {}
    offset = 0
    for name, arr in model._pickle_state.items():
        a = replaced.get(name, arr).astype(np.float32)
        blobs[name] = a
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    write_safetensors(out / "model.safetensors", None, header, 0, blobs)
