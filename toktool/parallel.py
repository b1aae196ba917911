"""One home for parallelism: worker counts, forked children, threads, and watching helpers.

toktool's kernels either release the GIL (JIT builds: threads suffice) or hold it (AOT builds: they
run in forked children so the parent stays free to draw progress and to stop them on Ctrl-C).
Helpers that die (the OOM killer, say) never report; the watching queue calls turn that into a
WorkerDiedError instead of a hang. Results never depend on how work is split between workers.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import signal
import threading
from collections.abc import Callable, Sequence

import numpy as np

from .errors import WorkerDiedError


def default_workers() -> int:
    """The CPU cores this process may run on (its affinity mask), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def check_alive(procs: list) -> None:
    """A helper that died (killed for lack of memory, say) never reports: say so instead of waiting."""
    for p in procs:
        if p.exitcode not in (None, 0):
            why = ", killed: perhaps for lack of memory" if p.exitcode == -9 else ""
            raise WorkerDiedError(f"a counting process died (exit code {p.exitcode}{why})")


def put_watching(q, item, procs: list) -> None:
    """q.put(item), raising WorkerDiedError if one of `procs` dies while the queue is full."""
    while True:
        try:
            return q.put(item, timeout=0.2)
        except queue.Full:
            check_alive(procs)


def get_watching(q, procs: list):
    """q.get(), raising WorkerDiedError if one of `procs` dies while the queue is empty."""
    while True:
        try:
            return q.get(timeout=0.2)
        except queue.Empty:
            check_alive(procs)


def fork_map(fn: Callable, items: Sequence) -> list:
    """[fn(x) for x in items], each item but the first in a forked child (the parent does that one),
    results returned through pipes in order. Raises RuntimeError when a child fails."""
    ctx = mp.get_context("fork")
    chans = []
    for item in items[1:]:
        recv, send = ctx.Pipe(duplex=False)

        def child(item=item, send=send) -> None:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            try:
                send.send(("ok", fn(item)))
            except BaseException as e:
                send.send(("error", repr(e)))

        proc = ctx.Process(target=child, daemon=True)
        proc.start()
        send.close()
        chans.append((proc, recv))
    try:
        results = [fn(items[0])]
        for proc, recv in chans:
            status, payload = recv.recv()
            proc.join()
            if status != "ok":
                raise RuntimeError(f"encoding worker failed: {payload}")
            results.append(payload)
        return results
    finally:
        for proc, recv in chans:
            recv.close()
            if proc.is_alive():
                proc.terminate()
                proc.join()


def run_in_thread(kernel: Callable, args: tuple, report: Callable[[np.ndarray], None], poll_interval: float):
    """kernel(*args, progress, stop) in a thread (for kernels that release the GIL).

    `progress` is int64[2] the kernel writes as it goes, passed to `report` every `poll_interval`
    seconds; Ctrl-C sets `stop[0] = 1`, waits for the kernel to return, and re-raises."""
    progress = np.zeros(2, dtype=np.int64)
    stop = np.zeros(1, dtype=np.int64)
    out: dict = {}

    def run() -> None:
        try:
            out["result"] = kernel(*args, progress, stop)
        except BaseException as e:  # pragma: no cover - surfaced in the main thread
            out["error"] = e

    th = threading.Thread(target=run, name="toktool-bpe", daemon=True)
    th.start()
    try:
        while th.is_alive():
            th.join(poll_interval)
            report(progress)
    except KeyboardInterrupt:
        stop[0] = 1
        th.join()
        raise
    if "error" in out:
        raise out["error"]
    report(progress)
    return out["result"]


def run_in_child(kernel: Callable, args: tuple, report: Callable[[np.ndarray], None], poll_interval: float):
    """kernel(*args, progress, stop) in a forked child (for kernels that hold the GIL), with progress
    and the stop flag in shared memory, as in `run_in_thread`. Raises RuntimeError when the child
    dies or fails."""
    ctx = mp.get_context("fork")
    shared = ctx.RawArray("q", 3)
    flags = np.frombuffer(shared, dtype=np.int64)
    progress, stop = flags[:2], flags[2:]
    recv, send = ctx.Pipe(duplex=False)

    def child() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides, through `stop`
        try:
            result = kernel(*args, progress, stop)
            if stop[0]:
                return  # nobody reads the pipe any more: a large result would block here
            send.send(("ok", result))
        except BaseException as e:
            send.send(("error", repr(e)))

    proc = ctx.Process(target=child, name="toktool-bpe", daemon=True)
    proc.start()
    send.close()
    try:
        while not recv.poll(poll_interval):
            report(progress)
            if not proc.is_alive() and not recv.poll(0):
                raise RuntimeError(f"the merge process died (exit code {proc.exitcode})")
        status, payload = recv.recv()
        proc.join()
    except KeyboardInterrupt:
        # the result is thrown away: give the kernel a moment to see `stop`, then end it (a phase
        # that does not look at the flag must not hold up the exit)
        stop[0] = 1
        proc.join(0.5)
        if proc.is_alive():
            proc.terminate()
            proc.join()
        raise
    finally:
        recv.close()
    if status != "ok":
        raise RuntimeError(f"merge loop failed: {payload}")
    report(progress)
    return payload
