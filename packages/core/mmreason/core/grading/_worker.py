"""The math-verify process tree's own side: `python -m mmreason.core.grading._worker <fd>`.

Started by `_mathverify` as a fresh interpreter running this module, so it never imports, and never
re-runs, the caller's `__main__` (a script without a main guard, `python -`, `python -c`, a notebook).
It imports and warms math-verify once (`_mvwarm`), then serves requests on the control socket `<fd>`:

    b"F" + pid(0)   fork a warm worker; reply pid (8 bytes) with the worker's socket attached (SCM_RIGHTS)
    b"K" + pid      SIGKILL that worker and reap it (no reply); only this process's own workers are touched

A worker answers `(gold, pred)` with `check`'s verdict (a bool) over its socket, a
`multiprocessing.connection.Connection`, until the socket closes. The caller enforces the wall-clock
budget by asking for a kill. EOF on the control socket (the caller exited or closed the pool) kills every
worker and ends this process.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import struct
import sys

REQUEST = struct.Struct("!cq")  # command, pid
REPLY = struct.Struct("!q")  # pid of the new worker
WORKER_MEMORY_BYTES = 4 << 30  # address-space cap inside a worker: 10^(10^10) dies of MemoryError there


def recv_exact(sock: socket.socket, n: int) -> bytes:
    """Exactly n bytes, or b"" at EOF."""
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return b""
        buf += chunk
    return buf


def _limit_worker() -> None:
    """Best effort: die with this server (Linux), and cap memory so a huge power cannot eat the machine."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG (this server is single-threaded)
    except Exception:
        pass
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY_BYTES, WORKER_MEMORY_BYTES))
    except Exception:
        pass


def _serve(sock: socket.socket) -> None:
    """A worker: verdicts for (gold, pred) jobs until the caller closes the socket."""
    from multiprocessing.connection import Connection

    from ._mvwarm import check  # never _mathverify: that module starts this one

    _limit_worker()
    conn = Connection(sock.detach())
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
        try:
            conn.send(verdict)
        except OSError:
            return


def _reap(children: set[int]) -> None:
    for pid in list(children):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            children.discard(pid)


def _kill(pid: int, children: set[int]) -> None:
    if pid in children:  # never a pid this server did not fork (or has already reaped)
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        children.discard(pid)


def main(fd: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the caller's to handle (it then closes us)
    ctl = socket.socket(fileno=fd)
    logging.getLogger("math_verify").setLevel(logging.CRITICAL)  # its "timeout is disabled" warnings
    from . import _mvwarm  # noqa: F401  (imports and warms math-verify, so every fork starts warm)

    ctl.sendall(b"R")
    children: set[int] = set()
    try:
        while True:
            req = recv_exact(ctl, REQUEST.size)
            if not req:
                return
            cmd, pid = REQUEST.unpack(req)
            _reap(children)
            if cmd == b"K":
                _kill(pid, children)
                continue
            ours, theirs = socket.socketpair()
            child = os.fork()
            if child == 0:  # the worker: keep only its own socket
                try:
                    ctl.close()
                    ours.close()
                    _serve(theirs)
                finally:
                    os._exit(0)
            theirs.close()
            children.add(child)
            socket.send_fds(ctl, [REPLY.pack(child)], [ours.fileno()])
            ours.close()
    finally:
        for pid in list(children):
            _kill(pid, children)


if __name__ == "__main__":
    main(int(sys.argv[1]))
