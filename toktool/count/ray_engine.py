"""Counting on a Ray cluster: a map over input splits, a hash-partitioned sum of the counts.

    split 0 ─ count ─┬─ partition 0 ──┐
    split 1 ─ count ─┼─ partition 0 ──┼─ sum (+ --min-word-count) ─ shard 0 ─┐
      ...            └─ partition P-1 ┘          ...                         ├─ the driver writes
    split S ─ count ─── ...                      sum ─ shard P-1 ────────────┘  one shard at a time

Every map task reads one split of the inputs with toktool's own reader (`splits.read_split`: same
--text-field, --errors, special tokens and presets as the local engine), counts it with the same
counter (`make_counter`), and returns its sorted counts cut into P parts by `shards.partition_of`.
Reduce task p sums part p of every split (a merge of sorted runs, in groups of at most FAN_IN so no
task takes thousands of inputs) and returns shard p, ready to write. No process ever holds all words:
a reducer holds one partition, the driver one shard at a time. Sums do not depend on which task
counted what, so the shards equal the local engine's byte for byte.

The map and the shuffle are plain Ray tasks (the classic Ray shuffle): a map task returns P objects, one
per partition, owned by the driver, so Ray can re-run a lost task from lineage. Ray Data's groupby does
the same through its hash-shuffle operators at a much larger fixed cost per run (docs/scale-out.md).

Failures: a task whose worker dies (OOM killer, lost node) is re-run by Ray up to MAX_RETRIES times;
bad input raises InputError in the task, which is not retried and fails the run with the message of the
first bad split in input order (what the local engine would report). Ctrl-C cancels the tasks and stops
the local cluster when toktool started it. Nothing here imports ray until a run asks for it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from .._version import __version__
from ..corpus import CorpusStats, InputInfo, display_name, is_jsonl_name
from ..errors import ToktoolError, WorkerDiedError
from ..parallel import default_workers
from .one_pass import batches, block_counting, feed, make_counter
from .shards import Arrays, ShardResult, as_arrays, make_shard, merge_sorted, split_partitions
from .splits import Split, SplitStats, can_cut, plan_splits, read_split, read_split_blocks

INSTALL_HINT = "--engine ray needs Ray: pip install 'toktool[ray]' (that is, 'ray[data]>=2.40,<3')"
MAX_RETRIES = 3  # re-runs of a task whose worker died; bad input is never retried
FAN_IN = 64  # most partial counts one reduce task merges; more go through combine tasks first
SPLITS_PER_CPU = 4  # pieces of work per CPU, so a slow split does not leave the others idle
MIN_SPLIT, MAX_SPLIT = 1 << 20, 256 << 20
OBJECT_STORE_ENV = "TOKTOOL_RAY_OBJECT_STORE_MB"
DEFAULT_OBJECT_STORE_MB = 512
# fault injection for tests: the first count task that finds no file at this path creates it and
# exits its worker process at once (as the OOM killer would), so Ray's retry can be checked
FAULT_ENV = "TOKTOOL_FAULT_ONCE"


@dataclass
class RayOptions:
    """Where and how to run on Ray.

    address: None starts a local Ray for this run (stopped at the end), unless $RAY_ADDRESS names a
        cluster; "auto" joins the cluster this machine belongs to; "ray://host:10001" connects through
        Ray Client. When Ray is already
        initialised in this process (a Python caller's ray.init), that session is used and kept.
    workers: CPUs of a local Ray started here (None: all cores this process may use); ignored when
        joining a cluster, where every CPU of the cluster may run a count task.
    object_store_mb: object store of a local Ray started here, in MiB (None: $TOKTOOL_RAY_OBJECT_STORE_MB,
        else 512); partial counts beyond it spill to disk.
    split_bytes: size of the pieces uncompressed inputs are cut into (None: about 4 per CPU, at most
        256 MiB)."""

    address: str | None = None
    workers: int | None = None
    object_store_mb: int | None = None
    split_bytes: int | None = None


def import_ray():
    """The ray module. Raises ToktoolError with the install command when Ray is not installed."""
    try:
        import ray
    except ImportError:
        raise ToktoolError(INSTALL_HINT) from None
    return ray


# --- tasks (module-level so Ray ships them by reference) -------------------------------------------


def _maybe_fault() -> None:
    marker = os.environ.get(FAULT_ENV)
    if not marker:
        return
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return
    os.close(fd)
    os._exit(17)


def count_split(split: Split, preset: str, specials: list[str], text_field: str | None, errors: str, partitions: int, batch_chars: int = 1 << 20) -> tuple:
    """Map task: count one split and cut its sorted counts into `partitions` parts.

    Returns a tuple of `partitions` (data uint8, offsets int64, counts int64) parts, then the
    SplitStats (sha256 and raw bytes filled when the split is the whole file)."""
    _maybe_fault()
    counter = make_counter(preset, specials)
    stats = SplitStats(split.input, toktool_version=__version__)
    if text_field is None and not is_jsonl_name(split.path) and block_counting([preset], specials) and can_cut(split.path):
        for block in read_split_blocks(split, errors, stats):  # blocks of lines, no str per line
            counter.add_block(block)  # type: ignore[attr-defined]
    else:
        for batch in batches(read_split(split, text_field, errors, stats), batch_chars):
            feed(counter, batch)
    parts = split_partitions(as_arrays(counter.part()), partitions)
    return (*parts, stats)


def combine_parts(*parts: Arrays) -> Arrays:
    """Combine task: partial counts of one partition summed into one sorted run."""
    return merge_sorted(parts)


def reduce_partition(index: int, partitions: int, preset: str, specials: list[str], min_word_count: int, *parts: Arrays) -> ShardResult:
    """Reduce task: partition `index` summed over every split, filtered, serialised as its shard."""
    return make_shard(merge_sorted(parts), index, partitions, preset, specials, min_word_count)


def hash_file(path: str) -> tuple[str, int]:
    """(sha256 hex, bytes) of a file's raw bytes, for an input cut into several splits."""
    import hashlib

    h = hashlib.sha256()
    n = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
            n += len(chunk)
    return h.hexdigest(), n


# --- driver ------------------------------------------------------------------------------------


class _Session:
    """ray.init for this run (or the caller's session), and its end."""

    def __init__(self, ray, opts: RayOptions) -> None:
        self.ray = ray
        self.owned = False
        self.started_local = False
        if ray.is_initialized():
            return
        # quiet: toktool's stderr is progress and one-line errors; failures come back as exceptions
        os.environ.setdefault("RAY_IGNORE_UNHANDLED_ERRORS", "1")
        common = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR, configure_logging=True)
        try:
            address = opts.address or os.environ.get("RAY_ADDRESS") or None
            if address is None:
                mb = opts.object_store_mb or int(os.environ.get(OBJECT_STORE_ENV, DEFAULT_OBJECT_STORE_MB))
                ray.init(num_cpus=opts.workers or default_workers(), object_store_memory=mb << 20, **common)
                self.started_local = True
            else:
                ray.init(address=address, **common)
        except ToktoolError:
            raise
        except Exception as e:
            where = "a local Ray" if address is None else f"Ray at {address}"
            raise ToktoolError(f"cannot start {where}: {type(e).__name__}: {e}".splitlines()[0]) from None
        self.owned = True

    def cpus(self) -> int:
        return max(1, int(self.ray.cluster_resources().get("CPU", 1)))

    def close(self) -> None:
        if self.owned:
            self.ray.shutdown()
            self.owned = False


def _cause(ray, e: BaseException) -> BaseException:
    """What to raise for a failed task: the task's own ToktoolError, a WorkerDiedError for a worker
    that kept dying, else the original exception (a bug: the CLI reports it as one)."""
    if isinstance(e, ray.exceptions.RayTaskError):
        cause = getattr(e, "cause", None)
        return cause if isinstance(cause, BaseException) else RuntimeError(str(e).splitlines()[0])
    if isinstance(e, (ray.exceptions.WorkerCrashedError, ray.exceptions.OutOfMemoryError, ray.exceptions.ObjectLostError)):
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        return WorkerDiedError(f"a Ray worker died {MAX_RETRIES + 1} times on the same task ({type(e).__name__}: {first})")
    return e


def count_shards_on_ray(
    paths: Sequence[str],
    preset: str,
    special_tokens: Sequence[str],
    text_field: str | None,
    errors: str,
    partitions: int,
    min_word_count: int,
    opts: RayOptions,
    corpus_out: dict,
    on_progress: Callable[[CorpusStats], None] | None = None,
) -> Iterator[ShardResult]:
    """Count `paths` (expanded files) on Ray; yield the P shards as they finish (any order).

    Once every shard was yielded, `corpus_out` holds the corpus statistics (CorpusStats.as_dict(),
    the same as the local engine's). Raises ToktoolError (Ray missing or unreachable), InputError
    (bad input, the first in input order), WorkerDiedError (a task's worker died more than
    MAX_RETRIES times). Closing the generator early (an error downstream, Ctrl-C) cancels the tasks
    and stops a local Ray started here."""
    if "-" in paths:
        raise ToktoolError("--engine ray reads files, not stdin (use --engine local for -)")
    ray = import_ray()
    specials = list(special_tokens)
    session = _Session(ray, opts)
    pending: list = []
    try:
        cpus = session.cpus()
        total = sum(os.path.getsize(p) for p in paths)
        split_bytes = opts.split_bytes or max(MIN_SPLIT, min(MAX_SPLIT, total // (SPLITS_PER_CPU * cpus) + 1))
        splits = plan_splits(paths, split_bytes)
        counted = ray.remote(count_split).options(num_returns=partitions + 1, max_retries=MAX_RETRIES, num_cpus=1)
        maps = [counted.remote(s, preset, specials, text_field, errors, partitions) for s in splits]
        per_split = [m[:partitions] for m in maps]
        stats_refs = [m[partitions] for m in maps]
        cut = sorted({s.input for s in splits if s.end >= 0})
        hasher = ray.remote(hash_file).options(max_retries=MAX_RETRIES, num_cpus=0.25)
        hash_refs = {i: hasher.remote(paths[i]) for i in cut}
        combine = ray.remote(combine_parts).options(max_retries=MAX_RETRIES, num_cpus=1)
        reduce = ray.remote(reduce_partition).options(max_retries=MAX_RETRIES, num_cpus=1)
        reduces = []
        for p in range(partitions):
            column = [parts[p] for parts in per_split]
            while len(column) > FAN_IN:
                column = [combine.remote(*column[i : i + FAN_IN]) for i in range(0, len(column), FAN_IN)]
            reduces.append(reduce.remote(p, partitions, preset, specials, min_word_count, *column))
        del maps, per_split, column
        pending = stats_refs + list(hash_refs.values()) + reduces

        split_stats = _wait_stats(ray, stats_refs, splits, on_progress)
        hashes = {i: _get(ray, r) for i, r in hash_refs.items()}
        corpus_out.update(_corpus(paths, splits, split_stats, hashes, errors))
        left = list(reduces)
        while left:
            ready, left = ray.wait(left, num_returns=1)  # P is small: one shard in memory at a time
            shard = _get(ray, ready[0])
            del ready
            yield shard
        pending = []
    finally:
        for ref in pending:
            try:
                ray.cancel(ref, force=True)
            except Exception:  # noqa: BLE001 - finished or already gone: nothing to stop
                pass
        session.close()


def _get(ray, ref):
    try:
        return ray.get(ref)
    except Exception as e:
        raise _cause(ray, e) from None


def _wait_stats(ray, refs: list, splits: list[Split], on_progress) -> list[SplitStats]:
    """Every split's stats; on failure, the error of the first failing split in input order."""
    index = {r: k for k, r in enumerate(refs)}
    out: list[SplitStats | None] = [None] * len(refs)
    progress = CorpusStats()
    left = list(refs)
    while left:
        # everything finished within the timeout at once: one wait per split would cost O(S^2)
        ready, left = ray.wait(left, num_returns=len(left), timeout=0.5, fetch_local=False)
        for k in sorted(index[r] for r in ready):
            try:
                st = ray.get(refs[k])
            except Exception:
                for j in range(k):  # an earlier split may fail too: report what the local engine would
                    if out[j] is None:
                        _get(ray, refs[j])
                _get(ray, refs[k])
                raise
            if st.toktool_version != __version__:
                raise ToktoolError(
                    f"a Ray worker runs toktool {st.toktool_version}, this driver {__version__}: install the same toktool on every node"
                )
            out[k] = st
            progress.raw_done += st.raw_bytes
        if ready and on_progress:
            on_progress(progress)
    return out  # type: ignore[return-value]


def _corpus(paths: Sequence[str], splits: list[Split], stats: list[SplitStats], hashes: dict, errors: str) -> dict:
    """CorpusStats.as_dict() of the whole run, equal to the local engine's."""
    cs = CorpusStats(errors=errors)
    infos = [InputInfo(path=display_name(p)) for p in paths]
    for s, st in zip(splits, stats):
        info = infos[s.input]
        info.texts += st.texts
        cs.texts += st.texts
        cs.bytes += st.bytes
        cs.invalid_lines += st.invalid_lines
        cs.null_texts += st.nulls
        info.nulls += st.nulls
        info.column = info.column or st.column
        if s.end < 0:
            info.sha256, info.bytes = st.sha256, st.raw_bytes
    for i, (digest, n) in hashes.items():
        infos[i].sha256, infos[i].bytes = digest, n
    cs.inputs = infos
    return cs.as_dict()
