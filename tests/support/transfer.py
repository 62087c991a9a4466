"""Streaming a large multipart upload without holding it, and watching a process's memory."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import psutil


def multipart(
    fields: dict[str, str], filename: str, length: int, pieces: Iterable[bytes]
) -> tuple[dict[str, str], int, Iterator[bytes]]:
    boundary = secrets.token_hex(16)
    head = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    )
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def body() -> Iterator[bytes]:
        yield head
        yield from pieces
        yield tail

    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    return headers, len(head) + length + len(tail), body()


@dataclass
class MemoryWatch:
    """Peak resident memory of a process while a block runs, sampled every few milliseconds."""

    pid: int
    interval: float = 0.005
    baseline: int = 0
    peak: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> MemoryWatch:
        process = psutil.Process(self.pid)
        self.baseline = self.peak = process.memory_info().rss
        self._thread = threading.Thread(target=self._sample, args=(process,), daemon=True)
        self._thread.start()
        return self

    def _sample(self, process: psutil.Process) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, process.memory_info().rss)
            time.sleep(self.interval)

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth(self) -> int:
        return self.peak - self.baseline
