"""One Engine shared by several threads (issue 16, bug 6): each thread scans
with its own Hyperscan scratch and decoders keep no per-document state on
shared objects, so results equal a serial scan and nothing raises."""

import threading

import pytest

from keyscan.api import scan_bytes
from keyscan.detect.prefilter import hyperscan_available

from conftest import FIXTURES

FILES = sorted(p for p in FIXTURES.rglob("*") if p.is_file() and p.stat().st_size < 200_000)


def _scan_all(engine):
    return {str(p): scan_bytes(engine, str(p), p.read_bytes()) for p in FILES}


@pytest.mark.skipif(not hyperscan_available(), reason="hyperscan not installed")
def test_engine_shared_by_threads_gives_serial_results(engine):
    assert engine.kind == "hyperscan"
    expected = _scan_all(engine)
    assert sum(len(v) for v in expected.values()) > 20
    errors: list[BaseException] = []
    results: list[dict] = []
    start = threading.Barrier(4)

    def work():
        try:
            start.wait()
            for _ in range(3):
                results.append(_scan_all(engine))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) == 12
    for r in results:
        assert r == expected


@pytest.mark.skipif(not hyperscan_available(), reason="hyperscan not installed")
def test_prefilter_scans_from_many_threads(engine):
    data = b"api_key = 'x'\n" * 20000 + b"token: abc\n" * 20000
    expected = engine.prefilter.hits(data)
    errors: list[BaseException] = []
    out: list[int] = []

    def work():
        try:
            for _ in range(20):
                out.append(len(engine.prefilter.hits(data)))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert out == [len(expected)] * 80
