"""math-verify in worker processes, with a wall-clock budget that works from any thread.

math-verify's own timeouts use `signal.alarm`, which only works in the main thread, so they are switched
off (`parsing_timeout=None`, `timeout_seconds=None`) and the budget is enforced here instead: each check
runs in a long-lived worker process; a worker that does not answer within the budget is killed (SIGKILL)
and replaced. Workers come from a `forkserver` that has already imported and warmed math-verify
(`_mvwarm`), so a replacement is ready in tens of milliseconds, not the seconds a fresh interpreter needs.

The pool is created on first use (or by `warmup()`), is safe to use from several threads, and is shut
down at interpreter exit (or by `shutdown()`). Worker start-up is not charged to the per-answer budget.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing as mp
import os
import threading
import time
from collections import OrderedDict

log = logging.getLogger(__name__)

START_TIMEOUT = 60.0  # seconds a new worker may take to import math-verify (first start on a busy machine)
CACHE_SIZE = 8192  # (gold, pred) -> verdict, so repeated rollouts of one answer are checked once
WORKER_MEMORY_BYTES = 4 << 30  # address-space cap inside a worker: 10^(10^10) dies of MemoryError there
DEFAULT_WORKERS = int(os.environ.get("MMREASON_GRADING_WORKERS", "2"))


# ----------------------------------------------------------------------------------------- worker side
def _limit_worker() -> None:
    """Best effort: die with the parent (Linux), and cap memory so a huge power cannot eat the machine."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except Exception:
        pass
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY_BYTES, WORKER_MEMORY_BYTES))
    except Exception:
        pass


def _serve(conn) -> None:
    _limit_worker()
    logging.getLogger("math_verify").setLevel(logging.CRITICAL)  # "timeout is disabled" warnings
    from ._mvwarm import check  # warm already when the forkserver preloaded it; else warms now

    conn.send("ready")
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        try:
            verdict = check(*job)
        except BaseException:  # RecursionError, MemoryError, sympy internals: all mean "not verified"
            verdict = False
        conn.send(verdict)


# ----------------------------------------------------------------------------------------- parent side
def _context():
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        try:  # only effective if no forkserver runs yet; workers import math-verify themselves otherwise
            ctx.set_forkserver_preload(["math_verify", __name__, f"{__package__}._mvwarm"])
        except Exception:
            pass
        return ctx
    return mp.get_context("spawn")


class _Worker:
    def __init__(self, ctx) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child,), daemon=True, name="mmreason-mathverify")
        self.proc.start()
        child.close()
        self.ready = False

    def wait_ready(self, timeout: float) -> bool:
        if not self.ready and self.conn.poll(timeout):
            try:
                self.ready = self.conn.recv() == "ready"
            except (EOFError, OSError):
                return False
        return self.ready

    def run(self, gold: str, pred: str, timeout: float) -> bool | None:
        """The verdict, or None when the budget ran out (the caller then kills this worker)."""
        try:
            self.conn.send((gold, pred))
            if self.conn.poll(max(timeout, 0.0)):
                return bool(self.conn.recv())
        except (EOFError, OSError, BrokenPipeError):
            pass
        return None

    def kill(self) -> None:
        try:
            self.proc.kill()
            self.proc.join(1.0)
        except Exception:
            pass
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except Exception:
            pass
        self.kill()


class MathVerifyPool:
    """A few reusable math-verify workers; `verify(gold, pred, timeout)` -> True / False / None (timeout)."""

    def __init__(self, size: int = DEFAULT_WORKERS) -> None:
        self.size = max(1, size)
        self._pid = os.getpid()
        self._ctx = None
        self._idle: list[_Worker] = []
        self._count = 0
        self._cond = threading.Condition()
        self._cache: OrderedDict[tuple[str, str], bool | None] = OrderedDict()
        self.timeouts = 0  # how many checks ran out of budget (for logs and tests)

    def _spawn(self) -> _Worker:
        if self._ctx is None:
            self._ctx = _context()
        try:
            return _Worker(self._ctx)
        except Exception as e:
            if self._ctx.get_start_method() == "forkserver":
                # a process forked from one that runs a forkserver cannot use it ("No child processes"):
                # fall back to spawn (workers then import math-verify themselves, about a second)
                log.info("forkserver unusable here (%s); math-verify workers use spawn", e)
                self._ctx = mp.get_context("spawn")
                return self._spawn()
            raise RuntimeError(  # e.g. "daemonic processes are not allowed to have children"
                f"mmreason.core.grading: cannot start a math-verify worker process ({e}); grading "
                "expression answers needs one (run grading in a non-daemonic process)"
            ) from e

    def warmup(self, n: int | None = None) -> None:
        """Start `n` (default: all) workers and wait until they are ready."""
        with self._cond:
            new = [self._spawn() for _ in range(max(0, (n or self.size) - self._count))]
            self._count += len(new)
        for w in new:
            if not w.wait_ready(START_TIMEOUT):
                log.warning("math-verify worker did not start within %.0f s", START_TIMEOUT)
        with self._cond:
            self._idle.extend(new)
            self._cond.notify_all()

    def _acquire(self) -> _Worker:
        with self._cond:
            while True:
                if self._idle:
                    return self._idle.pop()
                if self._count < self.size:
                    self._count += 1
                    break
                self._cond.wait()
        try:
            return self._spawn()
        except BaseException:
            with self._cond:
                self._count -= 1
                self._cond.notify()
            raise

    def _release(self, w: _Worker, healthy: bool) -> None:
        if not healthy:
            w.kill()
            try:
                w = self._spawn()  # start the replacement now so it is warm by the next call
            except Exception:
                log.exception("could not start a math-verify worker")
                with self._cond:
                    self._count -= 1
                    self._cond.notify()
                return
        with self._cond:
            self._idle.append(w)
            self._cond.notify()

    def verify(self, gold: str, pred: str, timeout: float) -> bool | None:
        key = (gold, pred)
        with self._cond:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        w = self._acquire()
        healthy = False
        try:
            if not w.wait_ready(START_TIMEOUT):
                log.warning("math-verify worker not ready after %.0f s; grading as wrong", START_TIMEOUT)
                return None
            t0 = time.monotonic()
            verdict = w.run(gold, pred, timeout)
            healthy = verdict is not None
            if verdict is None:
                self.timeouts += 1
                log.debug("math-verify ran out of %.2f s (%.2f s) on %r", timeout, time.monotonic() - t0, pred[:80])
            with self._cond:  # a timeout is cached too (as None): a repeat is not re-run, and still says timeout
                self._cache[key] = verdict
                if len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)
            return verdict
        finally:
            self._release(w, healthy)

    def shutdown(self) -> None:
        if self._pid != os.getpid():  # a forked child must not stop its parent's workers
            return
        with self._cond:
            idle, self._idle = self._idle, []
            self._count -= len(idle)
        for w in idle:
            w.stop()


_POOL: MathVerifyPool | None = None
_POOL_LOCK = threading.Lock()


_POOL_PID = 0


def pool() -> MathVerifyPool:
    """This process's pool (a forked child gets its own, never its parent's pipes)."""
    global _POOL, _POOL_PID
    with _POOL_LOCK:
        if _POOL is None or _POOL_PID != os.getpid():
            _POOL, _POOL_PID = MathVerifyPool(), os.getpid()
            atexit.register(_POOL.shutdown)
        return _POOL


def warmup() -> None:
    """Start the math-verify workers now (about a second), so the first `expression` grade is fast."""
    pool().warmup()


def shutdown() -> None:
    """Stop the idle math-verify workers (they restart on the next `expression` grade)."""
    with _POOL_LOCK:
        p = _POOL
    if p is not None:
        p.shutdown()
