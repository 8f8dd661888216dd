"""Open a page in headless Chromium (Debian's `chromium`, installed by `make test`) and report what a reader
would see: console errors, uncaught exceptions, failed or non-local requests, every <img> and whether it loaded,
and a full-page screenshot.

Chromium is driven through the DevTools protocol over a pipe (`--remote-debugging-pipe`: the browser reads
NUL-terminated JSON commands on fd 3 and writes replies and events on fd 4), so nothing but the standard library
is needed. Protocol reference: https://chromedevtools.github.io/devtools-protocol/ (Target, Page, Runtime, Log,
Network domains).
"""

from __future__ import annotations

import base64
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-pipe"]


def chromium_binary() -> str | None:
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    def __init__(self, timeout: float = 60.0):
        binary = chromium_binary()
        if binary is None:
            raise FileNotFoundError("chromium not found: `make test` installs it (apt-get install -y chromium)")
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="mmreason-chromium-")
        cmd_r, self._cmd_w = os.pipe()  # we write commands, chromium reads fd 3
        self._ev_r, ev_w = os.pipe()  # chromium writes fd 4, we read

        def fds():  # in the child: the pipe ends at fd 3 and 4, inheritable (copies first: either may already be 3 or 4)
            a, b = os.dup(cmd_r), os.dup(ev_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen([binary, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
                                     preexec_fn=fds, close_fds=False, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        os.close(cmd_r)
        os.close(ev_w)
        self._id = 0
        self._replies: dict[int, dict] = {}
        self.events: queue.Queue = queue.Queue()
        self._cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        buf = b""
        with os.fdopen(self._ev_r, "rb", buffering=0) as f:
            while chunk := f.read(65536):
                buf += chunk
                *msgs, buf = buf.split(b"\0")
                for raw in msgs:
                    msg = json.loads(raw)
                    if "id" in msg:
                        with self._cond:
                            self._replies[msg["id"]] = msg
                            self._cond.notify_all()
                    else:
                        self.events.put(msg)

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._cmd_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        with self._cond:
            while self._id not in self._replies:
                if not self._cond.wait(deadline - time.monotonic()) and time.monotonic() > deadline:
                    raise TimeoutError(f"chromium: no reply to {method} in {self.timeout} s")
        reply = self._replies.pop(self._id)
        if "error" in reply:
            raise RuntimeError(f"chromium: {method}: {reply['error']}")
        return reply.get("result", {})

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except Exception:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        os.close(self._cmd_w)
        shutil.rmtree(self.profile, ignore_errors=True)


def inspect_page(path: str | Path, screenshot: str | Path | None = None, width: int = 1280) -> dict:
    """Load a local HTML file; returns {"errors": [...], "requests": [urls], "images": [{"src", "complete",
    "width"}], "title", "height"} and writes a full-page PNG screenshot if asked."""
    url = Path(path).resolve().as_uri()
    b = Browser()
    try:
        target = b.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        s = b.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            b.send(f"{domain}.enable", session=s)
        b.send("Page.navigate", {"url": url}, session=s)
        errors, requests, loaded = [], [], False
        deadline = time.monotonic() + b.timeout
        while not loaded or not b.events.empty():
            try:
                ev = b.events.get(timeout=max(0.1, deadline - time.monotonic()) if not loaded else 0.5)
            except queue.Empty:
                if not loaded:
                    raise TimeoutError(f"chromium: {url} did not finish loading") from None
                break
            method, p = ev.get("method"), ev.get("params", {})
            if method == "Page.loadEventFired":
                loaded = True
            elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                errors.append("console: " + " ".join(str(a.get("value", a.get("description"))) for a in p.get("args", [])))
            elif method == "Runtime.exceptionThrown":
                errors.append("exception: " + p["exceptionDetails"].get("text", ""))
            elif method == "Log.entryAdded" and p["entry"].get("level") == "error":
                errors.append(f"log: {p['entry'].get('text')} {p['entry'].get('url', '')}")
            elif method == "Network.requestWillBeSent":
                requests.append(p["request"]["url"])
            elif method == "Network.loadingFailed":
                errors.append(f"network: {p.get('errorText')}")
        js = ("JSON.stringify({title: document.title, height: document.documentElement.scrollHeight, images: "
              "Array.from(document.images).map(i => ({src: i.src.slice(0, 40), complete: i.complete, width: i.naturalWidth}))})")
        page = json.loads(b.send("Runtime.evaluate", {"expression": js, "returnByValue": True}, session=s)["result"]["value"])
        if screenshot:
            b.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": min(page["height"], 16000),
                                                          "deviceScaleFactor": 1, "mobile": False}, session=s)
            shot = b.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session=s)
            Path(screenshot).write_bytes(base64.b64decode(shot["data"]))
        return {"errors": errors, "requests": requests, **page}
    finally:
        b.close()
