"""Worker process pools, shared by directory and history scans."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence


def make_pool(workers: int, initializer: Callable[..., None], initargs: Sequence[Any]):
    """A pool of ``workers`` processes (forked on Linux: the engine is inherited, not pickled)."""
    import multiprocessing as mp

    ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    return ctx.Pool(workers, initializer=initializer, initargs=tuple(initargs))


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
