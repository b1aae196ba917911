"""Wall time and peak memory of a command and every process it starts: the benchmarks' one sampler.

A thread samples the process tree (the command and its children, recursively) every `interval` seconds
and keeps the peak of the sum of each process's PSS (proportional set size: a page shared by n
processes counts 1/n in each, so the sum is what the tree really occupies) and, alongside, the plain
RSS sum (which counts a forked child's shared pages once per process). Each sample reads
/proc/PID/smaps_rollup (one short read; psutil's memory_full_info parses the whole smaps, which on a
2-core machine takes CPU away from the process being measured).

    from proctree import measure
    m = measure([sys.executable, "-m", "toktool", "train", ...], env)   # {"wall_s", "peak_pss_mb", ...}
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import psutil


def pss_rss(pid: int) -> tuple[int, int]:
    """PSS and RSS of one process in bytes from /proc/PID/smaps_rollup; (0, 0) once it has gone."""
    pss = rss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    pss = int(line.split()[1]) * 1024
                elif line.startswith(b"Rss:"):
                    rss = int(line.split()[1]) * 1024
    except OSError:
        pass
    return pss, rss


def measure(
    cmd: list[str],
    env: dict,
    sample: bool = True,
    interval: float = 0.02,
    timeout: float | None = None,
    check: bool = True,
    cwd: str | None = None,
) -> dict:
    """Run cmd to the end; return {"wall_s"} and, when sampled, {"peak_pss_mb", "peak_rss_mb"}.

    The command runs in a session of its own. `timeout`: after that many seconds the whole session is
    killed and the result says {"timed_out": True} (wall_s is then the time waited). `check`: a command
    that fails ends the caller with its stderr (the older benchmarks' behaviour); with check=False the
    result carries "returncode" and the last 2,000 characters of stderr instead. `cwd`: where it runs.
    """
    t0 = time.perf_counter()
    proc = psutil.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
                        cwd=cwd)
    peak = {"pss": 0, "rss": 0}
    done = threading.Event()

    def sample_tree() -> None:
        while not done.is_set():
            pss = rss = 0
            try:
                procs = [proc] + proc.children(recursive=True)
            except psutil.Error:
                break
            for p in procs:
                a, b = pss_rss(p.pid)
                pss += a
                rss += b
            peak["pss"] = max(peak["pss"], pss)
            peak["rss"] = max(peak["rss"], rss)
            done.wait(interval)

    th = threading.Thread(target=sample_tree, daemon=True)
    if sample:
        th.start()
    timed_out = False
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(proc.pid, signal.SIGKILL)
        _, err = proc.communicate()
    except BaseException:  # Ctrl-C: the command is in its own session, so end it here
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    wall = time.perf_counter() - t0
    done.set()
    if sample:
        th.join()
    if proc.returncode != 0 and not timed_out and check:
        sys.exit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{err.decode()}")
    out: dict = {"wall_s": wall}
    if sample:
        out.update(peak_pss_mb=peak["pss"] / 2**20, peak_rss_mb=peak["rss"] / 2**20)
    if not check:
        out.update(returncode=proc.returncode, timed_out=timed_out, stderr=err.decode(errors="replace")[-2000:])
    return out
