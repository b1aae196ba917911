import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_cli_reference_is_current():
    p = subprocess.run([sys.executable, "scripts/gen_cli_docs.py", "--check"], cwd=ROOT, env={"COLUMNS": "100", "PATH": "/usr/bin:/bin"})
    assert p.returncode == 0, "docs/cli.md is out of date: run python scripts/gen_cli_docs.py"


def test_readme_setup_is_the_two_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    setup = text.split("## Set-up", 1)[1].split("```", 2)[1]
    assert setup.strip().splitlines() == ["make demo", "make test"]


def test_python_api_examples_run(monkeypatch):
    """docs/python.md is a doctest: every example runs on the bundled data and prints what it shows."""
    import doctest

    monkeypatch.chdir(ROOT)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testfile(str(ROOT / "docs" / "python.md"), module_relative=False, optionflags=flags)
    assert result.failed == 0 and result.attempted > 20
