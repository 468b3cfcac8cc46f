"""Open a page in headless Chromium and inspect it through the DevTools protocol over a pipe
(--remote-debugging-pipe: no port, no network, no extra package): console errors and uncaught
exceptions, a script's result, and a screenshot."""

from __future__ import annotations

import base64
import json
import os
import queue
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
         "--remote-debugging-pipe", "--hide-scrollbars"]


@dataclass
class Page:
    """What a page did while it loaded and ran: console messages, exceptions, failed requests."""

    console: list[str] = field(default_factory=list)  # errors and warnings only
    exceptions: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


class Browser:
    def __init__(self, profile_dir: Path, width: int = 1400, height: int = 900) -> None:
        if CHROMIUM is None:
            raise RuntimeError("chromium is not installed")
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def fds() -> None:  # the protocol pipes are fds 3 (Chromium reads) and 4 (Chromium writes)
            a, b = os.dup(to_chrome_r), os.dup(from_chrome_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={profile_dir}",
                                      f"--window-size={width},{height}", "about:blank"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     preexec_fn=fds, pass_fds=(3, 4))  # kept: close_fds runs after preexec_fn
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.width, self.height = width, height
        self._id = 0
        self._inbox: queue.Queue = queue.Queue()
        self._events: list[dict] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self.proc.stderr.read, daemon=True).start()  # drain, never block Chromium

    def _read(self) -> None:
        buf = b""
        while True:
            try:
                chunk = os.read(self._from_chrome, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                self._inbox.put(None)
                return
            buf += chunk
            while b"\0" in buf:
                msg, buf = buf.split(b"\0", 1)
                self._inbox.put(json.loads(msg))

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 60) -> dict:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_chrome, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            m = self._inbox.get(timeout=max(deadline - time.monotonic(), 0.01))
            if m is None:
                raise RuntimeError("chromium closed the protocol pipe")
            if m.get("id") == self._id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self._events.append(m)

    def wait_event(self, method: str, timeout: float = 60) -> dict:
        for i, e in enumerate(self._events):
            if e.get("method") == method:
                return self._events.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            m = self._inbox.get(timeout=max(deadline - time.monotonic(), 0.01))
            if m is None:
                raise RuntimeError("chromium closed the protocol pipe")
            if m.get("method") == method:
                return m
            self._events.append(m)

    def open(self, url: str) -> tuple[str, Page]:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for m in ("Runtime.enable", "Log.enable", "Page.enable", "Network.enable"):
            self.send(m, session=session)
        self.send("Emulation.setDeviceMetricsOverride", {"width": self.width, "height": self.height,
                                                        "deviceScaleFactor": 1, "mobile": False}, session)
        self._events.clear()
        self.send("Page.navigate", {"url": url}, session)
        self.wait_event("Page.loadEventFired")
        return session, Page()

    def collect(self, page: Page) -> Page:
        """Move what the page reported so far into ``page``."""
        while True:
            try:
                m = self._inbox.get_nowait()
            except queue.Empty:
                break
            if m is not None:
                self._events.append(m)
        for e in self._events:
            method, p = e.get("method"), e.get("params", {})
            if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "warning", "assert"):
                page.console.append(" ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
            elif method == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                page.exceptions.append(d.get("exception", {}).get("description") or d.get("text", "?"))
            elif method == "Log.entryAdded" and p.get("entry", {}).get("level") in ("error", "warning"):
                page.console.append(p["entry"].get("text", ""))
            elif method == "Network.requestWillBeSent":
                page.requests.append(p.get("request", {}).get("url", ""))
            elif method == "Network.loadingFailed":
                page.failed_requests.append(p.get("errorText", ""))
        self._events.clear()
        return page

    def evaluate(self, session: str, expression: str):
        r = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True},
                      session)
        if "exceptionDetails" in r:
            raise RuntimeError(f"script failed: {r['exceptionDetails']}")
        return r["result"].get("value")

    def screenshot(self, session: str, path: Path, full: bool = False) -> Path:
        params: dict = {"format": "png"}
        if full:
            h = self.evaluate(session, "document.documentElement.scrollHeight")
            params.update(captureBeyondViewport=True, clip={"x": 0, "y": 0, "width": self.width, "height": h,
                                                             "scale": 1})
        data = self.send("Page.captureScreenshot", params, session)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=10)
        except (RuntimeError, queue.Empty, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_chrome, self._from_chrome):
            try:
                os.close(fd)
            except OSError:
                pass


# Run in the page once it is ready: which sections exist, which figures drew, and which table
# columns a 1400-px window does not show (cut off by the window or by a scrolling container).
INSPECT = r"""
(async function () {
  for (let i = 0; i < 200 && document.body.getAttribute("data-ready") !== "1"; i++) {
    await new Promise(r => setTimeout(r, 50));
  }
  document.querySelectorAll("details").forEach(d => { d.open = true; });
  await new Promise(r => setTimeout(r, 400));
  const width = window.innerWidth;
  const sections = Array.from(document.querySelectorAll("[data-section]")).map(s => s.getAttribute("data-section"));
  const figures = Array.from(document.querySelectorAll("div.fig[data-figure]")).map(d => {
    const svg = d.querySelector(".main-svg");
    const r = svg ? svg.getBoundingClientRect() : { width: 0, height: 0, right: 0 };
    return { id: d.getAttribute("data-figure"), drawn: d.getAttribute("data-drawn"),
             width: r.width, height: r.height, right: r.right };
  });
  const hidden = [];
  document.querySelectorAll("table").forEach(t => {
    let box = t.closest(".scroll");
    const limit = box ? Math.min(box.getBoundingClientRect().right, width) : width;
    t.querySelectorAll("thead th").forEach(th => {
      const r = th.getBoundingClientRect();
      if (r.width <= 0 || r.right > limit + 0.5 || r.left < -0.5) {
        hidden.push((t.closest("[data-section]") || {}).id + ": " + th.textContent.trim() + " right=" + r.right);
      }
    });
  });
  const titled = Array.from(document.querySelectorAll("td.name")).filter(td => td.title).length;
  return { sections, figures, hidden, width, page_width: document.documentElement.scrollWidth,
           titled, text: document.body.innerText.slice(0, 200000), ready: document.body.getAttribute("data-ready") };
})()
"""


ARTEFACTS = Path(__file__).resolve().parent.parent / "out" / "test-artefacts"


def inspect_report(report: Path, profile_dir: Path, shot: str) -> dict:
    """Open a report at 1400 px; return INSPECT's findings plus what the page reported, and keep a
    screenshot of its top (``shot``.png) and of the whole page (``shot``-full.png) in ARTEFACTS."""
    browser = Browser(profile_dir)
    try:
        session, page = browser.open(report.resolve().as_uri())
        found = browser.evaluate(session, INSPECT)
        browser.collect(page)
        browser.evaluate(session, "window.scrollTo(0, 0)")
        browser.screenshot(session, ARTEFACTS / f"{shot}-full.png", full=True)
        browser.evaluate(session, "document.querySelectorAll('details').forEach(d => { d.open = false; }); "
                                  "window.scrollTo(0, 0)")
        browser.screenshot(session, ARTEFACTS / f"{shot}.png")
    finally:
        browser.close()
    found.update(console=page.console, exceptions=page.exceptions, failed_requests=page.failed_requests,
                 requests=page.requests)
    return found
