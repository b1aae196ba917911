"""Rendering: rich tables for people, json/csv/tsv/md for machines and papers, progress on stderr."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import sys
from collections.abc import Iterator, Sequence

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

FORMATS = ("table", "json", "csv", "tsv", "md")


def stderr_console(quiet: bool = False) -> Console:
    """A console on stderr (silent with quiet=True): summaries and notes never mix with results."""
    return Console(stderr=True, quiet=quiet, highlight=False)


def render_rows(rows: Sequence[dict], columns: Sequence[str], fmt: str, title: str | None = None, extra: dict | None = None) -> str:
    """One table in any format; the same columns whatever the format."""
    if fmt == "json":
        doc = dict(extra or {})
        doc["rows"] = [{c: r.get(c) for c in columns} for r in rows]
        return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
    if fmt in ("csv", "tsv"):
        buf = io.StringIO()
        w = csv.writer(buf, delimiter="," if fmt == "csv" else "\t", lineterminator="\n")
        w.writerow(columns)
        for r in rows:
            w.writerow(["" if r.get(c) is None else r.get(c) for c in columns])
        return buf.getvalue()
    if fmt == "md":
        lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
        for r in rows:
            lines.append("| " + " | ".join(_cell(r.get(c), human=False) for c in columns) + " |")
        return "\n".join(lines) + "\n"
    buf = io.StringIO()
    Console(file=buf, width=max(80, Console().width), force_terminal=False, highlight=False).print(rich_table(rows, columns, title))
    return buf.getvalue()


def rich_table(rows: Sequence[dict], columns: Sequence[str], title: str | None) -> Table:
    """A rich Table of `rows` (dicts) with these columns; numbers right-aligned."""
    table = Table(title=title, header_style="bold")
    for c in columns:
        table.add_column(c, justify="right" if rows and isinstance(rows[0].get(c), (int, float)) else "left")
    for r in rows:
        table.add_row(*(_cell(r.get(c)) for c in columns))
    return table


def _cell(v: object, human: bool = True) -> str:
    """Terminal tables get thousands separators; Markdown keeps plain numbers for papers and scripts."""
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4f}"
    if isinstance(v, int):
        return f"{v:,}" if human else str(v)
    return str(v).replace("|", "\\|")


def print_table(rows: Sequence[dict], columns: Sequence[str], fmt: str, title: str | None = None, extra: dict | None = None) -> None:
    """Rows to stdout in `fmt` (a rich table when stdout is a terminal and fmt is "table")."""
    if fmt == "table" and sys.stdout.isatty():
        Console(highlight=False).print(rich_table(rows, columns, title))
        return
    sys.stdout.write(render_rows(rows, columns, fmt, title, extra))


@contextlib.contextmanager
def progress_bar(enabled: bool) -> Iterator[Progress | None]:
    """A rich progress bar on stderr when it is a terminal; nothing in pipes or with --quiet."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    prog = Progress(
        TextColumn("[bold]{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    )
    with prog:
        yield prog


def count_progress(prog, total_bytes: int | None):
    """A TrainHooks.count-style callback advancing a "counting" bar by raw input bytes read."""
    if prog is None:
        return None
    task = prog.add_task("counting", total=(total_bytes // 1024 if total_bytes else None))

    def update(stats) -> None:
        prog.update(task, completed=stats.raw_read() // 1024)

    return update


def train_hooks(prog):
    """TrainHooks drawing one bar per counting pass and per merge phase (none without a bar)."""
    from ..corpus import total_input_size
    from ..train import TrainHooks

    def count(label: str, paths: list[str]):
        if prog is None:
            return None
        task = prog.add_task(label, total=(total_input_size(paths) or 0) // 1024 or None)
        return lambda stats: prog.update(task, completed=stats.raw_read() // 1024)

    def merge(label: str, total: int):
        if prog is None:
            return None
        task = prog.add_task(label, total=total)
        return lambda _steps, vocab: prog.update(task, completed=vocab)

    return TrainHooks(count=count, merge=merge)
