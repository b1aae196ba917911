"""The package's shape, enforced: imports run down the pipeline's layers, no cycles, no private names
across files, a lazy public face. The rules and a picture are in docs/architecture.md."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "toktool"

# unit -> the units it may import (besides itself). A unit is a top-level module or subpackage.
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "_version": set(),
    "lazy": set(),
    "atomic": {"errors"},
    "columnar": {"errors"},
    "corpus": {"errors", "columnar"},
    "parallel": {"errors"},
    "vocab": {"errors"},
    "pretokenize": {"errors"},
    "kernels": {"errors"},
    "options": {"errors", "corpus", "pretokenize"},
    "count": {"errors", "_version", "atomic", "columnar", "corpus", "parallel", "pretokenize", "kernels", "options"},
    "hf": {"errors", "vocab", "pretokenize"},
    "formats": {"errors", "hf", "pretokenize", "options"},
    "train": {"errors", "_version", "lazy", "atomic", "corpus", "parallel", "vocab", "pretokenize", "kernels", "count", "hf", "options"},
    "evaluation": {"errors", "_version", "lazy", "atomic", "corpus", "pretokenize", "hf", "formats", "options"},
    "transplantation": {"errors", "atomic", "corpus", "pretokenize", "hf", "formats", "options", "kernels"},
    "cli": {
        "errors", "_version", "atomic", "corpus", "pretokenize", "vocab", "count", "hf", "formats", "options",
        "train", "evaluation", "transplantation",
    },
    "_entry": {"cli"},
    "__main__": {"_entry"},
    # the face: loads the public names lazily (the imports it names are for type checkers)
    "__init__": {"_version", "lazy", "errors", "count", "train", "formats", "evaluation", "transplantation"},
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports() -> list[tuple[str, str, str, int, list[str]]]:
    """(importer module, imported module, file, line, names) for every toktool import, including
    imports inside functions."""
    out = []
    for f in sorted(PKG.rglob("*.py")):
        mod = _module_name(f)
        is_pkg = f.name == "__init__.py"
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = mod.split(".") if is_pkg else mod.split(".")[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if not target.startswith("toktool"):
                    continue
                names = [a.name for a in node.names]
                if node.module is None:  # from . import x: x may be a submodule
                    for n in names:
                        sub = f"{target}.{n}"
                        exists = (ROOT / Path(*sub.split("."))).with_suffix(".py").exists() or (ROOT / Path(*sub.split("."))).is_dir()
                        out.append((mod, sub if exists else target, str(f.relative_to(ROOT)), node.lineno, [] if exists else [n]))
                else:
                    out.append((mod, target, str(f.relative_to(ROOT)), node.lineno, names))
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.startswith("toktool"):
                        out.append((mod, a.name, str(f.relative_to(ROOT)), node.lineno, []))
    return out


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_imports_only_run_down_the_layers():
    bad = []
    for src, dst, where, line, _ in _imports():
        a, b = _unit(src), _unit(dst)
        if a != b and b not in ALLOWED[a]:
            bad.append(f"{where}:{line}: {a} imports {b} ({dst})")
    assert not bad, "imports against the layer rules (docs/architecture.md):\n" + "\n".join(bad)


def test_every_unit_has_a_rule():
    units = {_unit(_module_name(f)) for f in PKG.rglob("*.py")}
    assert units <= set(ALLOWED), f"no layer rule for {sorted(units - set(ALLOWED))}"


def test_kernels_import_nothing_of_toktool_but_errors():
    for src, dst, where, line, _ in _imports():
        if _unit(src) == "kernels":
            assert _unit(dst) in ("kernels", "errors"), f"{where}:{line} imports {dst}"


def test_no_import_cycle_between_modules():
    graph: dict[str, set[str]] = {}
    for src, dst, *_ in _imports():
        if src != dst:
            graph.setdefault(src, set()).add(dst)
    # a package face (x/__init__) importing its own submodules is how faces work: not a cycle edge back
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> None:
        state[n] = 1
        stack.append(n)
        for m in graph.get(n, ()):
            if m.startswith(n + ".") or n.startswith(m + "."):
                continue  # a package and its own modules
            if state.get(m) == 1:
                cycle = stack[stack.index(m):] + [m]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if m not in state:
                visit(m)
        stack.pop()
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n)


def test_no_private_name_is_imported_from_another_file():
    bad = [
        f"{where}:{line}: {name} from {dst}"
        for src, dst, where, line, names in _imports()
        for name in names
        if name.startswith("_") and not name.startswith("__") and src != dst
    ]
    # private modules with a reason: the version, the process entry point, the AOT build product
    allowed = {"toktool._version", "toktool._entry", "toktool.kernels._aot"}
    bad = [b for b in bad if not b.endswith("_aot from toktool.kernels")]
    bad += [
        f"{w}:{ln}: private module {dst}"
        for src, dst, w, ln, _ in _imports()
        if dst.split(".")[-1].startswith("_") and not dst.split(".")[-1].startswith("__") and dst not in allowed
    ]
    assert not bad, "\n".join(bad)


def test_import_toktool_is_light_and_the_api_is_lazy():
    code = (
        "import sys, inspect, toktool\n"
        "heavy = [m for m in ('numpy', 'numba', 'torch', 'tokenizers', 'regex') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "inspect.signature(toktool.train_bpe)\n"
        "heavy = [m for m in ('numba', 'torch', 'tokenizers') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "assert callable(toktool.evaluate) and callable(toktool.transplant)\n"
        "import toktool.evaluation, toktool.transplantation\n"
        "assert callable(toktool.evaluate) and callable(toktool.transplant)\n"
        "print(sorted(toktool.__all__))\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 0, p.stderr


@pytest.mark.parametrize(
    "name",
    ["train_bpe", "train_superbpe", "train_parity", "extend", "count_corpus", "WordCounts", "load_tokenizer", "evaluate", "transplant", "ToktoolError"],
)
def test_public_api_is_documented(name):
    import toktool

    obj = getattr(toktool, name)
    doc = obj.__doc__ or ""
    assert len(doc) > 200 or name == "ToktoolError", f"toktool.{name} needs a full docstring"
    if callable(obj) and not isinstance(obj, type):
        assert "Raises" in doc and "Return" in doc, f"toktool.{name}: say what it returns and raises"


def test_the_command_line_starts_without_the_heavy_modules():
    """`toktool --help` and the parsing of every command load neither numpy, numba, tokenizers, torch nor
    pyarrow: every process toktool starts (and every worker it forks) stays small until it needs them."""
    code = (
        "import sys\n"
        "from toktool.cli.app import cli\n"
        "heavy = [m for m in ('numpy', 'numba', 'tokenizers', 'torch', 'pyarrow', 'sentencepiece') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 0, p.stderr
