"""A headless Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe): no
websocket, no extra package. Used by test_browser.py to load a page and record what it did.

Messages are JSON objects ended by a NUL byte: Chromium reads commands on fd 3 and writes replies and
events on fd 4. Every request the page makes (Network.requestWillBeSent), every uncaught exception
(Runtime.exceptionThrown), every console.error / console.assert (Runtime.consoleAPICalled) and every error
the browser logs for the page (Log.entryAdded: blocked loads, CSP violations) is kept.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class PageRun:
    requests: list[str] = field(default_factory=list)  # every URL the page asked for, its own first
    errors: list[str] = field(default_factory=list)  # script exceptions, console errors, logged errors
    value: Any = None  # what the probe expression returned
    screenshot: bytes = b""  # PNG


class _Pipe:
    def __init__(self, proc: subprocess.Popen[bytes], write_fd: int, read_fd: int) -> None:
        self.proc, self.w, self.r = proc, write_fd, read_fd
        self.buf = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def _message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("chromium did not answer in time")
            ready, _, _ = select.select([self.r], [], [], left)
            if ready:
                chunk = os.read(self.r, 1 << 16)
                if not chunk:
                    raise RuntimeError(f"chromium closed the pipe (exit {self.proc.poll()})")
                self.buf += chunk
        raw, self.buf = self.buf.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, params: dict[str, Any] | None = None, *, session: str | None = None,
             timeout: float = 30) -> dict[str, Any]:  # fmt: skip
        self.next_id += 1
        msg: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            m = self._message(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, method: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            self.events.append(self._message(deadline))

    def drain(self, seconds: float) -> None:
        """Collect events for a while (late requests or errors after load)."""
        deadline = time.monotonic() + seconds
        try:
            while True:
                self.events.append(self._message(deadline))
        except TimeoutError:
            pass


def run_page(chromium: str, page: Path, probe: str, *, profile: Path, width: int = 1200,
             height: int = 900) -> PageRun:  # fmt: skip
    """Load `page` (a file) headless, evaluate `probe` (a JavaScript expression) and take a screenshot.

    Host names resolve to nothing (--host-resolver-rules), so a request that slipped through could not
    reach anything either; it is still recorded, which is what the tests check.
    """
    to_browser_r, to_browser_w = os.pipe()
    from_browser_r, from_browser_w = os.pipe()
    args = [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
        f"--user-data-dir={profile}", "--no-first-run", "--no-default-browser-check",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-features=Translate,OptimizationHints,MediaRouter", "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--window-size={width},{height}", "about:blank",
    ]  # fmt: skip

    profile.mkdir(parents=True, exist_ok=True)
    log = open(profile / "chromium.log", "wb")  # noqa: SIM115  # closed below

    def child_fds() -> None:  # the pipe ends where Chromium expects them, fds 3 and 4 (via fds >= 10: no clash)
        r, w = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10), fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
        os.dup2(r, 3)
        os.dup2(w, 4)

    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
                            close_fds=False, preexec_fn=child_fds)  # fmt: skip
    os.close(to_browser_r)
    os.close(from_browser_w)
    pipe = _Pipe(proc, to_browser_w, from_browser_r)
    try:
        target = pipe.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = pipe.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Network", "Runtime", "Log", "Page"):
            pipe.call(f"{domain}.enable", session=session)
        pipe.events.clear()  # about:blank's own events
        pipe.call("Page.navigate", {"url": page.resolve().as_uri()}, session=session)
        pipe.wait_event("Page.loadEventFired")
        pipe.drain(0.5)
        value = pipe.call("Runtime.evaluate", {"expression": probe, "returnByValue": True}, session=session)
        shot = pipe.call("Page.captureScreenshot", {"format": "png"}, session=session)
        pipe.drain(0.2)
        run = PageRun(value=value.get("result", {}).get("value"), screenshot=base64.b64decode(shot["data"]))
        if "exceptionDetails" in value:
            run.errors.append(f"probe: {value['exceptionDetails']}")
        for e in pipe.events:
            method, p = e.get("method"), e.get("params", {})
            if method == "Network.requestWillBeSent":
                run.requests.append(p["request"]["url"])
            elif method == "Runtime.exceptionThrown":
                run.errors.append(f"exception: {p['exceptionDetails'].get('exception', {}).get('description')}"
                                  f" {p['exceptionDetails'].get('text')}")  # fmt: skip
            elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                run.errors.append(f"console.{p['type']}: {[a.get('value') for a in p.get('args', [])]}")
            elif method == "Log.entryAdded" and p["entry"].get("level") == "error":
                run.errors.append(f"log: {p['entry'].get('text')} {p['entry'].get('url', '')}")
        try:
            pipe.call("Browser.close", timeout=5)
        except (RuntimeError, TimeoutError):
            pass
        return run
    finally:
        os.close(to_browser_w)
        os.close(from_browser_r)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
