"""One function call in a fresh spawned process, with frame progress and a clean stop.

Used for every bench run that must not share a process: the run's peak RSS is its own, its
working directory is its own (bgslibrary writes ``./config/*.xml``), and a crash in native code
is an error here instead of the end of the bench. Usage::

    run = run_in_worker(run_job_target, (job,), "mog2 on baseline/highway", on_frames=bar.update)
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import signal
import time
from collections.abc import Callable

from ..errors import WorkerError

log = logging.getLogger(__name__)


class _ParentWatch:
    """Raises in the worker once its parent is gone (a SIGKILLed bench must not leave workers
    writing into result folders that a resumed run is rewriting)."""

    def __init__(self) -> None:
        self.parent = os.getppid()

    def check(self) -> None:
        if os.getppid() != self.parent:
            raise WorkerError("the bench process that started this worker is gone")


def _exit_now(signum: int, frame) -> None:
    os._exit(128 + signum)


def _worker(target: Callable, args: tuple, messages: multiprocessing.Queue) -> None:
    # Ctrl-C reaches the whole process group: end at once, quietly (no traceback per worker),
    # before anything more is written; the job's folder stays without its completion marker.
    signal.signal(signal.SIGINT, _exit_now)
    logging.basicConfig(level=logging.WARNING)
    watch = _ParentWatch()

    def frames(k: int) -> None:
        watch.check()
        messages.put(("frames", k))

    try:
        # bgslibrary prints "+SuBSENSE()" and the like on stdout, through the progress bars.
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        result = target(*args, on_frames=frames, before_commit=watch.check)
        messages.put(("done", result))
    except Exception as e:  # noqa: BLE001 - sent to the parent, which raises WorkerError
        messages.put(("error", f"{type(e).__name__}: {e}"))


def run_in_worker(target: Callable, args: tuple, label: str,
                  on_frames: Callable[[int], None] | None = None, timeout_s: float | None = None,
                  stop: Callable[[], bool] | None = None):
    """``target(*args, on_frames=..., before_commit=...)`` in a fresh spawned process.

    ``target`` must be a module-level function (it is pickled by name); ``before_commit()``
    raises once this process is gone, so call it before anything that must not be written by
    an orphan. ``stop()`` true: the worker is terminated and KeyboardInterrupt raised here.
    """
    ctx = multiprocessing.get_context("spawn")
    messages = ctx.Queue()
    process = ctx.Process(target=_worker, args=(target, args, messages), daemon=True,
                          name=f"bench-{label}")
    process.start()
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    try:
        while True:
            if stop is not None and stop():
                raise KeyboardInterrupt(f"{label}: stopped")
            try:
                kind, payload = messages.get(timeout=0.2)
            except queue.Empty:
                if not process.is_alive():
                    raise WorkerError(
                        f"{label}: worker exited with code {process.exitcode} without a result "
                        "(crashed in native code, or was killed?)"
                    ) from None
                if deadline is not None and time.monotonic() > deadline:
                    raise WorkerError(f"{label}: over {timeout_s} s") from None
                continue
            if kind == "frames":
                if on_frames:
                    on_frames(payload)
            elif kind == "done":
                return payload
            else:
                raise WorkerError(f"{label}: {payload}")
    finally:
        if process.is_alive() and not (stop is not None and stop()):
            process.join(timeout=5)  # it has sent its result or error and is exiting
        if process.is_alive():  # stopped (Ctrl-C): now, before it can mark anything
            process.terminate()
            process.join()
        messages.close()
