"""The sandbox contains what a hostile file can do to a decoder: memory, time, crashes."""

import io
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from typing import BinaryIO

import pytest

from vault.crypto import IntegrityError
from vault.kit.errors import CorruptFile, ImageBomb
from vault.kit.sandbox import Sandbox


def _allocate(size: int) -> int:
    return len(bytearray(size))


def _sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def _crash() -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


@pytest.fixture
def sandbox():
    box = Sandbox(workers=1, memory_limit=512 << 20, timeout=3)
    yield box
    box.close()


@pytest.fixture
def impatient():
    """For the tests that wait out the time limit: a short one keeps them short."""
    box = Sandbox(workers=1, memory_limit=512 << 20, timeout=1)
    yield box
    box.close()


def test_memory_beyond_the_cap_is_refused_and_the_worker_survives(sandbox: Sandbox) -> None:
    with pytest.raises(ImageBomb):
        sandbox.run(_allocate, 2 << 30)
    assert sandbox.run(_allocate, 1 << 20) == 1 << 20


def test_a_stuck_decoder_is_killed_and_the_pool_replaced(impatient: Sandbox) -> None:
    started = time.monotonic()
    with pytest.raises(CorruptFile, match="too long"):
        impatient.run(_sleep, 60)
    assert time.monotonic() - started < 10
    assert impatient.run(_sleep, 0) == 0


def test_a_file_behind_a_stuck_one_is_tried_again_not_refused() -> None:
    """The stuck file's pool is ended, and with it the honest file waiting behind it: that one
    is run in the new pool rather than refused for another's fault."""
    box = Sandbox(workers=1, memory_limit=512 << 20, timeout=2)
    try:
        box.warm()
        with ThreadPoolExecutor(2) as threads:
            stuck = threads.submit(box.run, _sleep, 60)
            time.sleep(0.5)
            honest = threads.submit(box.run, _sleep, 0.1)
            with pytest.raises(CorruptFile, match="too long"):
                stuck.result()
            assert honest.result() == 0.1
    finally:
        box.close()


def test_a_crashing_decoder_is_a_refusal_not_a_dead_server(sandbox: Sandbox) -> None:
    with pytest.raises(CorruptFile, match="safely"):
        sandbox.run(_crash)
    assert sandbox.run(_allocate, 10) == 10


def _read_around(file: BinaryIO, *, step: int) -> bytes:
    """Reads the end first, then the rest in odd steps, as a PDF parser does."""
    size = file.seek(0, io.SEEK_END)
    file.seek(size - 10)
    tail = file.read()
    file.seek(0)
    parts = []
    while part := file.read(step):
        parts.append(part)
    return tail + b"".join(parts)


def _sleep_on(file: BinaryIO, seconds: float) -> None:
    time.sleep(seconds)


def _crash_on(file: BinaryIO) -> None:
    file.read(1)
    os.kill(os.getpid(), signal.SIGSEGV)


class _Failing(io.BytesIO):
    """A source that fails authentication half-way, as a tampered stored object does."""

    def read(self, size: int | None = -1) -> bytes:
        if self.tell() >= 1 << 20:
            raise IntegrityError("chunk 1 failed authentication")
        return super().read(size)


def test_a_worker_reads_a_large_source_on_demand(sandbox: Sandbox) -> None:
    data = os.urandom(3 << 20)
    assert sandbox.run_on(_read_around, io.BytesIO(data), step=77_777) == data[-10:] + data


def test_a_failing_source_is_the_callers_error_and_the_worker_survives(sandbox: Sandbox) -> None:
    with pytest.raises(IntegrityError):
        sandbox.run_on(_read_around, _Failing(os.urandom(3 << 20)), step=1 << 16)
    assert sandbox.run(_allocate, 10) == 10


def test_a_worker_on_a_pipe_that_hangs_or_crashes_is_a_refusal(impatient: Sandbox) -> None:
    with pytest.raises(CorruptFile, match="too long"):
        impatient.run_on(_sleep_on, io.BytesIO(b"x"), 60)
    with pytest.raises(CorruptFile, match="safely"):
        impatient.run_on(_crash_on, io.BytesIO(b"x"))
    assert (
        impatient.run_on(_read_around, io.BytesIO(b"0123456789ab"), step=5)
        == b"23456789ab" + b"0123456789ab"
    )


def _read_again_after_a_failure(file: BinaryIO) -> int:
    """As a parser's recovery does: the failed read is tried again, and again."""
    failures = 0
    for _ in range(5):
        try:
            file.seek(2 << 20)
            file.read(1 << 16)
        except OSError:
            failures += 1
    return failures


def test_a_worker_that_retries_a_failed_read_is_answered_not_left_waiting(
    sandbox: Sandbox,
) -> None:
    began = time.monotonic()
    with pytest.raises(IntegrityError):
        sandbox.run_on(_read_again_after_a_failure, _Failing(os.urandom(3 << 20)))
    assert time.monotonic() - began < 2  # not the 3 s time limit
    assert sandbox.run(_allocate, 10) == 10
