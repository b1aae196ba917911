"""Atomic outputs: every file or directory toktool writes appears whole or not at all.

A crash, an error or Ctrl-C half way through training must never leave a partial `tokenizer.json`
that a later job would load, and an existing output is never replaced unless the user said --force.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import OutputExistsError, ToktoolError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _as_created(path: Path, directory: bool) -> None:
    """Give a temporary file or directory the permissions a plain open()/mkdir() would have:
    tempfile makes them private (0600/0700), and an output must be readable as any other file."""
    os.chmod(path, (0o777 if directory else 0o666) & ~_umask())


def check_output(path: str | os.PathLike, force: bool) -> Path:
    """Fail early (before any work) when an output exists and --force was not given. (That it does not
    replace an input is corpus.check_not_input, which knows how inputs are read.)"""
    p = Path(path)
    if p.exists() and not force:
        raise OutputExistsError(f"output {p} already exists (use --force to replace it)")
    parent = p.parent if str(p.parent) else Path(".")
    if parent.exists() and not parent.is_dir():
        raise ToktoolError(f"cannot write {p}: {parent} is not a directory")
    if parent.is_dir():
        # a read-only or pseudo file system (/proc, a full disk...) is found now, not after the work
        try:
            fd, probe = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".probe", dir=parent)
        except OSError as e:
            raise ToktoolError(f"cannot write {p}: {e.strerror or e}") from None
        os.close(fd)
        os.unlink(probe)
    return p


def _parent_dir(p: Path) -> None:
    """Create the output's parent directories, an OSError as one line."""
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ToktoolError(f"cannot write {p}: {e.strerror or e}") from None


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, force: bool = False, mode: str = "wb") -> Iterator:
    """Yield a file object on a temporary sibling; rename it over `path` only on success."""
    p = check_output(path, force)
    _parent_dir(p)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    _as_created(Path(tmp), directory=False)
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8", "newline": "\n"})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        if p.is_dir():
            raise OutputExistsError(f"output {p} is a directory")
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_bytes_atomic(path: str | os.PathLike, data: bytes, force: bool = False) -> None:
    with atomic_file(path, force=force) as f:
        f.write(data)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike, force: bool = False) -> Iterator[Path]:
    """Yield a temporary directory next to `path`; it replaces `path` only if the block succeeds.

    The old directory (with --force) is moved aside first and deleted only after the new one is in
    place, so there is no moment where neither exists on disk.
    """
    p = check_output(path, force)
    _parent_dir(p)
    tmp = Path(tempfile.mkdtemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent))
    _as_created(tmp, directory=True)
    try:
        yield tmp
        old = None
        if p.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{p.name}.", suffix=".old", dir=p.parent))
            os.rmdir(old)
            os.replace(p, old)
        os.replace(tmp, p)
        if old is not None:
            if old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
            else:
                old.unlink(missing_ok=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_dir(path: str | os.PathLike, files: dict[str, bytes], force: bool = False) -> Path:
    """Write {file name: bytes} into the directory `path`, atomically: the directory appears whole or
    not at all. Raises OutputExistsError when it exists and `force` is False."""
    with atomic_dir(path, force=force) as tmp:
        for name, data in files.items():
            (tmp / name).write_bytes(data)
    return Path(path)
