"""Helper processes end with the process they serve, even when it is killed outright.

`kill -9` of `vault serve` runs none of its clean-up, and its helpers do not notice by
themselves: a sandbox worker waits on a queue whose write end it holds too, the forkserver waits
for the end of a pipe that every worker keeps open, and a server worker under uvicorn's
supervisor holds its own pipe to the supervisor. Left alone they live on under PID 1, the
workers holding memory and a server worker still answering on the shared socket.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import multiprocessing.forkserver
import os
import signal
import sys
import threading
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


def die_with_parent(signum: int = signal.SIGKILL) -> None:
    """Have the kernel send `signum` to this process when the thread that forked it ends.

    Linux ties this to the forking *thread*, not its process: call it only in a child whose
    parent forks from a thread that lives as long as the parent does (the forkserver's loop).
    Elsewhere it does nothing; a parent already gone before the call goes unnoticed, so the
    caller makes sure the parent cannot end before (see `leave_forkserver`).
    """
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")


def leave_forkserver() -> None:
    """In a process forked by the forkserver that starts no process of its own: drop the write
    end of the forkserver's liveness pipe, which the forkserver hands to every child.

    The forkserver ends when that pipe has no writer left. With only the server holding it,
    the forkserver ends when the server does, however it ends, and takes with it (through
    `die_with_parent`) the children that called this after setting their death signal.
    """
    server = multiprocessing.forkserver._forkserver
    fd = getattr(server, "_forkserver_alive_fd", None)
    if fd is not None:
        setattr(server, "_forkserver_alive_fd", None)  # noqa: B010 - private, so untyped
        with contextlib.suppress(OSError):
            os.close(fd)


def follow_supervisor(on_gone: Callable[[], None]) -> None:
    """In a process started by a multiprocessing parent (a server worker under uvicorn's
    supervisor): call `on_gone` once that parent has ended. Elsewhere it does nothing.

    It waits on the parent's sentinel, a pipe whose far end only the parent holds, so it wakes
    when the parent ends however it ends, whichever of its threads started this process.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def wait() -> None:
        parent.join()
        on_gone()

    threading.Thread(target=wait, name="follow-supervisor", daemon=True).start()
