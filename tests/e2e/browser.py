"""Headless Chromium (Debian's package, ci/browser.sh) driven from Python through the
DevTools protocol: open a page at a window size, evaluate expressions in it, save a
screenshot. Every step has a time bound; the browser is stopped afterwards."""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import websocket

START_WAIT = 30.0
STEP_TIMEOUT = 30.0


class Page:
    def __init__(self, socket: websocket.WebSocket) -> None:
        self.socket = socket
        self._ids = itertools.count(1)

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        """One DevTools command and its result (events in between are skipped)."""
        number = next(self._ids)
        self.socket.send(json.dumps({"id": number, "method": method, "params": params}))
        deadline = time.monotonic() + STEP_TIMEOUT
        while time.monotonic() < deadline:
            reply = json.loads(self.socket.recv())
            if reply.get("id") == number:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return dict(reply.get("result") or {})
        raise TimeoutError(f"{method}: no answer within {STEP_TIMEOUT:g} s")

    def open(self, url: str, width: int, height: int, mobile: bool = False) -> None:
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=mobile,
        )
        self.send("Page.enable")
        self.send("Page.navigate", url=url)
        deadline = time.monotonic() + STEP_TIMEOUT
        while self.value("document.readyState") != "complete":
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not load within {STEP_TIMEOUT:g} s")
            time.sleep(0.1)

    def value(self, expression: str) -> Any:
        done = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        return (done.get("result") or {}).get("value")

    def screenshot(self, path: Path) -> Path:
        data = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        path.write_bytes(base64.b64decode(data))
        return path


def chromium() -> str:
    found = shutil.which("chromium")
    assert found, "no chromium here: install the pinned one with `sudo ci/browser.sh`"
    return found


@contextlib.contextmanager
def browser() -> Iterator[Page]:
    """A headless Chromium with one blank page, stopped afterwards."""
    profile = Path(tempfile.mkdtemp(prefix="kubelab-chromium-"))
    process = subprocess.Popen(
        [
            chromium(),
            "--headless=new",
            "--no-sandbox",  # root in CI; the page is ours and runs no script
            "--disable-gpu",
            "--no-first-run",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + START_WAIT
        while not port_file.is_file() or not port_file.read_text().strip():
            assert process.poll() is None, f"chromium exited ({process.returncode})"
            assert time.monotonic() < deadline, f"chromium did not start within {START_WAIT:g} s"
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=STEP_TIMEOUT) as answer:
            targets = json.load(answer)
        page = next(t for t in targets if t.get("type") == "page")
        socket = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=STEP_TIMEOUT)
        try:
            yield Page(socket)
        finally:
            socket.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(profile, ignore_errors=True)
