"""``convert``: run an exporter over a labelme folder, in this process or in a process pool.

Every file is converted independently; a bad file is recorded as (path, reason) and the others go on.
Results are gathered by source index, so ``workers=N`` writes exactly what ``workers=1`` writes.
"""
from __future__ import annotations

import errno
import multiprocessing
import os
import sys
from contextlib import contextmanager
import threading
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Callable, Optional

from segstudio.core.errors import AnnotationError, Cancelled, ConfigError, DatasetError, SegStudioError
from segstudio.core.export.base import (
    EXPORTERS,
    ConvertReport,
    Exporter,
    ItemInfo,
    check_output_folder,
    find_label_files,
    load_item,
    resolve_labels,
)
from segstudio.core.progress import CancelFn, ProgressFn, check_cancel

# (task function, shared state) of this worker process, set by _init_worker
_WORKER: Optional[tuple[Callable, Any]] = None

#: a task: fn(state, index, path) -> (index, ok, record or (path, reason)); must never raise
TaskFn = Callable[[Any, int, Path], tuple[int, bool, Any]]


def _init_worker(fn: TaskFn, state: Any) -> None:
    global _WORKER
    _WORKER = (fn, state)


@contextmanager
def output_errors(out: Path):
    """Turn an OSError while writing the output (no space, no permission, a file in the way) into a
    DatasetError naming the file, so the CLI reports it without a traceback."""
    try:
        yield
    except OSError as exc:
        where = exc.filename or out
        raise DatasetError(f"cannot write the output: {exc.strerror or exc}", where) from None


def describe_failure(exc: BaseException, path: Path) -> tuple[str, str]:
    """(path, reason) for the report; SegStudioError already says ``path: reason``."""
    if isinstance(exc, SegStudioError):
        reason = exc.reason
        if isinstance(exc, AnnotationError) and exc.shape_index is not None:
            reason = f"shape {exc.shape_index}: {reason}"
        return str(exc.path or path), reason
    if isinstance(exc, MemoryError):
        return str(path), "out of memory while converting this file"
    return str(path), f"{type(exc).__name__}: {exc}"


#: a full disk (or quota) ends the whole conversion instead of failing every remaining file one by one
DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
LOCK_NAME = ".segstudio-convert.lock"


def check_image_inside(item, root: Optional[Path]) -> None:
    """Refuse an item whose image file (``imagePath``, symlinks followed) lies outside ``root``: an export copies
    the image into --out, and a shared JSON must not make it copy the user's other files (``../../etc/...``)."""
    if root is None or item.ann.image_data is not None:
        return
    from segstudio.core.annotation import resolve_image_path

    image = resolve_image_path(item.ann.image_path, item.json_path)
    real = Path(os.path.realpath(image))
    if real != root and root not in real.parents:
        via = f" (through a symlink to {real})" if str(real) != os.path.abspath(image) else ""
        raise AnnotationError(f"image {image}{via} is outside the dataset folder {root}: refused, nothing of it "
                              "was copied (convert with --image-root set to a folder holding it)", item.json_path)


def export_one(exporter: Exporter, index: int, json_path: Path) -> tuple[int, bool, Any]:
    """Convert one file: (index, True, record) or (index, False, (path, reason)). Never raises, except for a
    full disk (OSError ENOSPC / EDQUOT), which ends the conversion."""
    try:
        item = load_item(index, json_path, exporter.label_set)
        check_image_inside(item, getattr(exporter, "image_root", None))
        return index, True, exporter.export_item(item)
    except OSError as exc:
        if exc.errno in DISK_FULL:
            raise
        return index, False, describe_failure(exc, json_path)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a reported (path, reason)
        return index, False, describe_failure(exc, json_path)


@contextmanager
def claimed(out: Path):
    """Hold ``out`` for this conversion: a lock file created exclusively, then ``out`` re-checked to hold nothing
    else; a second conversion into the same folder (another process) is refused instead of mixing files."""
    lock = out / LOCK_NAME
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        raise DatasetError(f"another conversion is writing into this folder ({LOCK_NAME} exists): refused, "
                           "nothing was written; choose another --out", out) from None
    os.close(fd)
    try:
        others = [p.name for p in out.iterdir() if p.name != LOCK_NAME]
        if others:
            raise DatasetError(f"output folder is no longer empty ({', '.join(sorted(others)[:3])} appeared: "
                               "another conversion?); nothing was overwritten, choose a new folder", out)
        yield
    finally:
        try:
            lock.unlink()
        except FileNotFoundError:
            pass


def _worker_batch(batch: list[tuple[int, Path]]) -> list[tuple[int, bool, Any]]:
    assert _WORKER is not None, "worker not initialised"
    fn, state = _WORKER
    return [fn(state, index, path) for index, path in batch]


def _mp_context():
    """fork when this process runs a single thread on Linux (the CLI: instant start); spawn otherwise
    (a GUI process has threads, and forking a threaded process can deadlock)."""
    if sys.platform.startswith("linux") and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _item_name(item) -> str:
    """Progress message for an item: a path's name, or the first path's name of a tuple (image, mask)."""
    return Path(item[0] if isinstance(item, tuple) else item).name


def run_tasks(fn: TaskFn, state: Any, paths: list, *, workers: int = 1,
              progress: Optional[ProgressFn] = None, cancel: Optional[CancelFn] = None
              ) -> list[tuple[int, bool, Any]]:
    """Run ``fn(state, i, paths[i])`` for every item, here or in a pool of ``workers`` processes.

    Returns the results sorted by index, so the outcome does not depend on ``workers``.  ``state`` and the
    results travel between processes: keep them picklable.
    """
    workers = max(1, min(int(workers), len(paths)))
    if workers == 1:
        results = []
        for i, path in enumerate(paths):
            check_cancel(cancel)
            results.append(fn(state, i, path))
            if progress:
                progress(i + 1, len(paths), _item_name(path))
        return results
    results = []
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=_mp_context(), initializer=_init_worker,
                               initargs=(fn, state))
    # small batches: little inter-process traffic, yet a smooth progress bar and quick cancel
    size = max(1, min(16, len(paths) // (workers * 8)))
    indexed = list(enumerate(paths))
    try:
        pending = {pool.submit(_worker_batch, indexed[i : i + size]) for i in range(0, len(indexed), size)}
        while pending:
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            for fut in done:
                batch = fut.result()
                results.extend(batch)
                if progress:
                    progress(len(results), len(paths), _item_name(paths[batch[-1][0]]))
            if cancel is not None and cancel():
                pool.shutdown(wait=True, cancel_futures=True)
                raise Cancelled()
    except BrokenProcessPool as exc:
        raise SegStudioError(f"a worker process stopped unexpectedly ({exc}); "
                             "out of memory? run again with fewer workers (--workers 1)") from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    results.sort(key=lambda r: r[0])
    return results


def convert(
    src,
    labels,
    out,
    fmt: str,
    *,
    workers: int = 1,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[CancelFn] = None,
    options: Optional[dict] = None,
    image_root=None,
) -> ConvertReport:
    """Convert the labelme folder ``src`` into ``out`` in format ``fmt`` (a name in ``EXPORTERS``).

    ``image_root``: images (``imagePath``, symlinks followed) must lie inside it, else the file is refused;
    default ``src``'s parent (labelme's ``dataset/labelme/*.json`` + ``dataset/images/`` layout).

    ``labels``: labels.txt path, LabelSet or None (``src/labels.txt``, else labels found in the JSON).
    ``options``: format-specific options (see each exporter's ``OPTIONS``).  ``out`` must not exist or be
    empty, and must be outside ``src``; ``src`` is only read.
    """
    exporter_cls = EXPORTERS.get(fmt)
    if workers is None or int(workers) < 1:
        raise ConfigError(f"workers must be at least 1 (got {workers})")
    workers = int(workers)
    src = Path(src)
    files = find_label_files(src)
    label_set = resolve_labels(labels, src, files)
    out = check_output_folder(Path(out), src)
    exporter = exporter_cls(out, label_set, options)
    exporter.image_root = Path(os.path.realpath(image_root if image_root is not None else src.absolute().parent))
    check_cancel(cancel)
    with output_errors(out):
        out.mkdir(parents=True, exist_ok=True)
    with claimed(out), output_errors(out):
        exporter.prepare(files)
        if progress:
            progress(0, len(files), "")
        results = run_tasks(export_one, exporter, files, workers=workers, progress=progress, cancel=cancel)
        records = [(ItemInfo(i, files[i], files[i].stem), payload) for i, ok, payload in results if ok]
        failures = [tuple(payload) for _i, ok, payload in results if not ok]
        exporter.finish(records)
    return ConvertReport(n_ok=len(records), failures=failures, out=out, fmt=fmt)
