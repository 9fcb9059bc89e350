"""Worker process pools, shared by directory and history scans."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence


def make_pool(workers: int, initializer: Callable[..., None], initargs: Sequence[Any]):
    """A pool of ``workers`` processes (forked on Linux: the engine is inherited, not pickled)."""
    import multiprocessing as mp

    ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    return ctx.Pool(workers, initializer=_start_worker, initargs=(initializer, *initargs))


def _start_worker(initializer: Callable[..., None], *initargs: Any) -> None:
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
def running(pool) -> Iterator[Any]:
    """Close and join ``pool`` after the block; terminate it on any error,
    Ctrl-C included, so no worker outlives the scan."""
    try:
        yield pool
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
