"""math-verify in worker processes, with a wall-clock budget that works from any thread.

math-verify's own timeouts use `signal.alarm`, which only works in the main thread, so they are switched
off (`parsing_timeout=None`, `timeout_seconds=None`) and the budget is enforced here instead: each check
runs in a long-lived worker process; a worker that does not answer within the budget is killed (SIGKILL)
and replaced.

The workers are never started by `multiprocessing`: a forkserver or spawn child re-imports the caller's
`__main__`, which re-runs a script without a main guard (`python -`, `python -c`, exec'd code). Instead
one server process is started as a module, `python -m mmreason.core.grading._worker`, over a socket
(`_worker.py`); it imports and warms math-verify once (`_mvwarm`) and forks warm workers on request, so a
replacement after a timeout is ready in milliseconds, not the seconds a fresh interpreter needs.

The pool is created on first use (or by `warmup()`), is safe to use from several threads and from forked
children (each process gets its own server), works inside daemonic processes, and is shut down at
interpreter exit (or by `shutdown()`). Server start-up is not charged to the per-answer budget. POSIX only.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from multiprocessing.connection import Connection
from pathlib import Path

log = logging.getLogger(__name__)

START_TIMEOUT = 60.0  # seconds the server may take to import math-verify (first start on a busy machine)
CACHE_SIZE = 8192  # (gold, pred) -> verdict, so repeated rollouts of one answer are checked once
DEFAULT_WORKERS = int(os.environ.get("MMREASON_GRADING_WORKERS", "2"))


def _server_command() -> tuple[list[str], dict[str, str]]:
    """`python -m ..._worker`, importable from where this package was imported (even when the caller put it
    on sys.path by hand); `-P` keeps the current directory off the server's path (Python >= 3.11)."""
    env = dict(os.environ)
    root = Path(__file__).resolve().parents[3]  # the directory holding mmreason/core/
    if root.name not in ("site-packages", "dist-packages"):  # never put site-packages before the stdlib
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    flags = ["-P"] if sys.version_info >= (3, 11) else []
    return [sys.executable, *flags, "-m", f"{__package__}._worker"], env


class _Server:
    """The `_worker` process: forks warm workers and kills them on request (one request at a time)."""

    def __init__(self) -> None:
        from . import _worker

        self._proto = _worker
        if not sys.executable or not hasattr(socket, "send_fds"):
            raise RuntimeError("grading expression answers needs a POSIX Python (fork, SCM_RIGHTS) with sys.executable")
        ours, theirs = socket.socketpair()
        cmd, env = _server_command()
        self.cmd = cmd
        try:
            self.proc = subprocess.Popen(
                [*cmd, str(theirs.fileno())], pass_fds=[theirs.fileno()], env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, start_new_session=True,  # no terminal signals, nothing on stdout
            )
        finally:
            theirs.close()
        self.sock = ours
        self.lock = threading.Lock()
        self.ready = False

    def wait_ready(self, timeout: float) -> bool:
        with self.lock:
            if not self.ready:
                self.sock.settimeout(timeout)
                try:
                    self.ready = self.sock.recv(1) == b"R"
                except OSError:
                    pass
                finally:
                    self.sock.settimeout(None)
            return self.ready

    def alive(self) -> bool:
        return self.proc.poll() is None

    def fork(self) -> tuple[int, Connection]:
        p = self._proto
        with self.lock:
            self.sock.sendall(p.REQUEST.pack(b"F", 0))
            msg, fds, _, _ = socket.recv_fds(self.sock, p.REPLY.size, 1)
            if len(msg) < p.REPLY.size:
                msg += p.recv_exact(self.sock, p.REPLY.size - len(msg))
            if len(msg) < p.REPLY.size or len(fds) != 1:
                raise OSError("math-verify server closed the connection")
        return p.REPLY.unpack(msg)[0], Connection(fds[0])

    def kill(self, pid: int) -> None:
        try:
            with self.lock:
                self.sock.sendall(self._proto.REQUEST.pack(b"K", pid))
        except OSError:
            pass

    def close(self) -> None:
        """EOF on the socket: the server kills its workers and exits."""
        self.sock.close()
        try:
            self.proc.wait(5.0)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class _Worker:
    def __init__(self, server: _Server) -> None:
        self.server = server
        self.pid, self.conn = server.fork()

    def run(self, gold: str, pred: str, timeout: float) -> bool | None:
        """The verdict, or None when the budget ran out (the caller then kills this worker).
        Raises EOFError / OSError when the worker died (it is replaced too)."""
        self.conn.send((gold, pred))
        if self.conn.poll(max(timeout, 0.0)):
            return bool(self.conn.recv())
        return None

    def kill(self) -> None:
        self.server.kill(self.pid)
        self.conn.close()

    stop = kill  # an idle worker: the same SIGKILL, it holds no state


class MathVerifyPool:
    """A few reusable math-verify workers; `verify(gold, pred, timeout)` -> True / False / None (timeout)."""

    def __init__(self, size: int = DEFAULT_WORKERS) -> None:
        self.size = max(1, size)
        self._server: _Server | None = None
        self._idle: list[_Worker] = []
        self._count = 0
        self._cond = threading.Condition()
        self._cache: OrderedDict[tuple[str, str], bool | None] = OrderedDict()
        self.timeouts = 0  # how many checks ran out of budget (for logs and tests)

    def _spawn(self) -> _Worker:
        with self._cond:
            server = self._server
            if server is None or not server.alive():
                if server is not None:
                    log.warning("math-verify server exited (code %s); starting a new one", server.proc.returncode)
                server = self._server = _Server()
        if not server.wait_ready(START_TIMEOUT):
            try:
                state = f"exited with code {server.proc.wait(2.0)}"
            except subprocess.TimeoutExpired:
                state = f"did not start in {START_TIMEOUT:.0f} s"
            raise RuntimeError(f"mmreason.core.grading: the math-verify server ({' '.join(server.cmd)}) {state}; "
                               "its error, if any, is on stderr above")
        return _Worker(server)

    def warmup(self, n: int | None = None) -> None:
        """Start `n` (default: all) workers and wait until they are ready."""
        with self._cond:
            k = max(0, (n or self.size) - self._count)
            self._count += k
        new = []
        try:
            for _ in range(k):
                new.append(self._spawn())
        finally:
            with self._cond:
                self._count -= k - len(new)
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
        if w.server is not self._server:  # the pool was shut down while this worker was busy
            w.conn.close()
            with self._cond:
                self._count -= 1
                self._cond.notify()
            return
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
            t0 = time.monotonic()
            try:
                verdict = w.run(gold, pred, timeout)
            except (EOFError, OSError):  # the worker died (a crash inside sympy): not verified
                log.warning("a math-verify worker died on %r; replacing it", pred[:80])
                return False
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
        """Stop the idle workers and the server (busy workers die with it); the next check starts anew."""
        with self._cond:
            idle, self._idle = self._idle, []
            self._count -= len(idle)
            server, self._server = self._server, None
        for w in idle:
            w.stop()
        if server is not None:
            server.close()

    def abandon(self) -> None:
        """In a forked child: close the inherited sockets without a word to the parent's server."""
        for w in self._idle:
            w.conn.close()
        if self._server is not None:
            self._server.sock.close()


_POOL: MathVerifyPool | None = None
_POOL_LOCK = threading.Lock()


def pool() -> MathVerifyPool:
    """This process's pool (created on first use)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = MathVerifyPool()
        return _POOL


def _after_fork_in_child() -> None:
    """A forked child gets its own pool and server, never its parent's sockets (nor a lock held at fork)."""
    global _POOL, _POOL_LOCK
    old, _POOL, _POOL_LOCK = _POOL, None, threading.Lock()
    if old is not None:
        old.abandon()


def _at_exit() -> None:
    if _POOL is not None:
        _POOL.shutdown()


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_at_exit)


def warmup() -> None:
    """Start the math-verify workers now (about a second), so the first `expression` grade is fast."""
    pool().warmup()


def shutdown() -> None:
    """Stop the math-verify workers and their server (they restart on the next `expression` grade)."""
    with _POOL_LOCK:
        p = _POOL
    if p is not None:
        p.shutdown()
