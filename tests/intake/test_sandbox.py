"""The sandbox contains what a hostile file can do to a decoder: memory, time, crashes."""

import os
import signal
import time

import pytest

from vault.errors import CorruptFile, ImageBomb
from vault.intake.sandbox import Sandbox


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


def test_memory_beyond_the_cap_is_refused_and_the_worker_survives(sandbox: Sandbox) -> None:
    with pytest.raises(ImageBomb):
        sandbox.run(_allocate, 2 << 30)
    assert sandbox.run(_allocate, 1 << 20) == 1 << 20


def test_a_stuck_decoder_is_killed_and_the_pool_replaced(sandbox: Sandbox) -> None:
    started = time.monotonic()
    with pytest.raises(CorruptFile, match="too long"):
        sandbox.run(_sleep, 60)
    assert time.monotonic() - started < 10
    assert sandbox.run(_sleep, 0) == 0


def test_a_crashing_decoder_is_a_refusal_not_a_dead_server(sandbox: Sandbox) -> None:
    with pytest.raises(CorruptFile, match="safely"):
        sandbox.run(_crash)
    assert sandbox.run(_allocate, 10) == 10
