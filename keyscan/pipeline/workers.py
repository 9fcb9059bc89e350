"""Worker process pools, shared by directory and history scans.

A pool is a :class:`concurrent.futures.ProcessPoolExecutor`: a worker that
dies (the out-of-memory killer, ``kill -9``) breaks the pool at once and the
scan fails with a :class:`~keyscan.errors.ScanError` (exit 3) instead of
waiting forever for a result that will never come (``multiprocessing.Pool``
replaces the dead worker and loses its task).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence

from ..errors import ScanError

TEST_HOOK_ENV = "KEYSCAN_TEST_WORKER"
"""Test hook: ``kill`` makes a worker kill itself (SIGKILL) when it receives a
task, as the out-of-memory killer would; ``hang`` makes it sleep forever."""


class WorkerPool:
    """``workers`` processes (forked on Linux: the engine is inherited, not pickled)."""

    def __init__(self, workers: int, initializer: Callable[..., None], initargs: Sequence[Any]):
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
        self.workers = workers
        self._ex = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_start_worker,
                                       initargs=(initializer, *initargs))
        self._procs: list = []

    def submit(self, fn: Callable[[Any], Any], arg: Any):
        fut = self._ex.submit(_call, fn, arg)
        # The executor starts its workers one submit at a time: remember each,
        # so a lost worker's exit code is found whichever one it was.
        for proc in getattr(self._ex, "_processes", {}).values():
            if proc not in self._procs:
                self._procs.append(proc)
        return fut

    def results(self, futures: Iterable[Any]) -> Iterator[Any]:
        """Results of ``futures`` as they complete."""
        from concurrent.futures import as_completed

        for fut in as_completed(list(futures)):
            yield self._result(fut)

    def imap_unordered(self, fn: Callable[[Any], Any], iterable: Iterable[Any]) -> Iterator[Any]:
        """``fn`` over ``iterable`` in the workers, results as they complete.
        ``iterable`` is consumed here, a few items ahead of the workers (it may
        be a directory walk: it overlaps the scanning, in bounded memory)."""
        from concurrent.futures import FIRST_COMPLETED, wait

        it = iter(iterable)
        pending: set = set()
        ahead = 2 * self.workers + 1
        exhausted = False
        while True:
            while not exhausted and len(pending) < ahead:
                try:
                    item = next(it)
                except StopIteration:
                    exhausted = True
                    break
                pending.add(self.submit(fn, item))
            if not pending:
                return
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                yield self._result(fut)

    def _result(self, fut) -> Any:
        from concurrent.futures.process import BrokenProcessPool

        try:
            return fut.result()
        except BrokenProcessPool:
            raise ScanError(self._death_message()) from None

    def _death_message(self) -> str:
        how = "died"
        for p in self._procs:
            p.join(timeout=1)
        # The executor's manager thread reaps the workers too: a join that
        # loses that race sees no exit code until the other side records it.
        deadline = time.monotonic() + 2
        while any(p.exitcode is None for p in self._procs) and time.monotonic() < deadline:
            time.sleep(0.02)
        codes = [p.exitcode for p in self._procs if p.exitcode]
        # the pool terminates (SIGTERM) the other workers once one is lost
        codes.sort(key=lambda c: c == -signal.SIGTERM)
        if codes and codes[0] < 0:
            try:
                name = signal.Signals(-codes[0]).name
            except ValueError:
                name = f"signal {-codes[0]}"
            how = f"was killed by {name}" + (" (the out-of-memory killer does this)"
                                             if -codes[0] == signal.SIGKILL else "")
        elif codes:
            how = f"exited with status {codes[0]}"
        return (f"a worker process {how}; the scan is incomplete. Run it again, with fewer "
                "workers (-j 1) or a lower --max-file-size if memory is short")

    def close(self) -> None:
        pass

    def join(self) -> None:
        self._ex.shutdown(wait=True)

    def terminate(self) -> None:
        """Stop every worker now (SIGTERM, then SIGKILL) and reap it."""
        procs = list(getattr(self._ex, "_processes", {}).values()) or self._procs
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join(timeout=2)
            if p.is_alive():
                p.kill()
                p.join(timeout=2)
        # Wait for the executor's manager thread to notice and close its wake-up
        # pipe. Left running, it races CPython's exit hook (concurrent.futures.
        # process._python_exit), which then writes to the closed pipe and prints
        # "Exception ignored ... Bad file descriptor" after "keyscan: interrupted".
        # (shutdown() forgets the thread: take it first.)
        manager = getattr(self._ex, "_executor_manager_thread", None)
        self._ex.shutdown(wait=False, cancel_futures=True)
        if manager is not None:
            manager.join(timeout=5)


def make_pool(workers: int, initializer: Callable[..., None], initargs: Sequence[Any]) -> WorkerPool:
    return WorkerPool(workers, initializer, initargs)


def _call(fn: Callable[[Any], Any], arg: Any) -> Any:
    hook = os.environ.get(TEST_HOOK_ENV)
    if hook == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif hook == "hang":
        while True:
            signal.pause()
    return fn(arg)


def _start_worker(initializer: Callable[..., None], *initargs: Any) -> None:
    # the parent's SIGTERM handler (cli) is inherited by fork: a worker told
    # to stop stops (the parent handles SIGINT/SIGTERM and reaps the workers)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    keep_freed_memory()
    initializer(*initargs)


_TRIM_THRESHOLD = 128 * 1024 * 1024
_MMAP_THRESHOLD = 32 * 1024 * 1024


def keep_freed_memory() -> None:
    """Ask glibc's allocator to keep freed memory for reuse in this process.

    A worker allocates and frees buffers of megabytes per file (the bytes read,
    their text, translated copies, decoded fragments).  By default glibc gives
    such blocks back to the kernel (``munmap``, heap trimming) and the next
    file faults fresh zeroed pages in: about a third of a 1 GB scan's system
    time.  Blocks up to 32 MB now come from the heap and up to 128 MB of free
    heap is kept.  Only called in worker processes keyscan owns (never in a
    program that imports keyscan); a no-op where ``mallopt`` does not exist.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has mallopt as a no-op; others none)
        return
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    mallopt(M_TRIM_THRESHOLD, _TRIM_THRESHOLD)
    mallopt(M_MMAP_THRESHOLD, _MMAP_THRESHOLD)


@contextmanager
def running(pool: WorkerPool) -> Iterator[WorkerPool]:
    """Join ``pool`` after the block; terminate it on any error, Ctrl-C and
    SIGTERM included, so no worker outlives the scan."""
    try:
        yield pool
    except BaseException:
        pool.terminate()
        raise
    pool.join()


# -- the one worker initialiser of directory and history scans ---------------


@dataclass(frozen=True)
class WorkerContext:
    """What a worker process scans with (set once per process by :func:`init_worker`)."""

    engine: Any
    chunk_size: int = 8 * 1024 * 1024
    strict: Optional[bool] = None


_CONTEXT: Optional[WorkerContext] = None


def init_worker(engine: Any, chunk_size: int = 8 * 1024 * 1024, strict: Optional[bool] = None) -> None:
    """The one pool initialiser of the runner (directory scans and history scans):
    the engine is inherited (fork) or unpickled once per worker; Ctrl-C is
    left to the parent, which stops the pool."""
    global _CONTEXT
    _CONTEXT = WorkerContext(engine, chunk_size, strict)
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    except ValueError:  # not the main thread (never in a pool worker)
        pass


def worker_context() -> WorkerContext:
    assert _CONTEXT is not None, "init_worker was not called in this process"
    return _CONTEXT
