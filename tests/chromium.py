"""Drive Debian's headless Chromium from the browser tests: find it, and talk to a page over the DevTools protocol.

The tests click, type and read the page as a person would, through the protocol's JSON messages on a websocket;
no browser-automation package is needed beyond `websockets`.
"""

import itertools
import json
import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


def find_chromium() -> str:
    """Chromium's path; skips the test without it, except in CI, where the browser tests must run."""
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is needed for the browser tests in CI (apt-get install chromium)")
        pytest.skip("chromium not installed (apt-get install chromium)")
    return path


class DevToolsPage:
    """One page of a running Chromium: protocol calls answered in order, each failing on a protocol error."""

    def __init__(self, websocket, reply_timeout_s: float):
        self._websocket, self._reply_timeout_s = websocket, reply_timeout_s
        self._ids = itertools.count(1)

    def call(self, method: str, **params) -> dict:
        """Send one protocol command and return its result, skipping the events that arrive before it."""
        message_id = next(self._ids)
        self._websocket.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self._websocket.recv(timeout=self._reply_timeout_s))
            if reply.get("id") == message_id:
                assert "error" not in reply, reply
                return reply.get("result", {})

    def evaluate(self, expression: str):
        """The value of a JavaScript expression in the page."""
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True)["result"]["value"]


@contextmanager
def devtools_page(chromium: str, profile: Path, *, extra_flags: Sequence[str] = (),
                  reply_timeout_s: float = 30) -> Iterator[DevToolsPage]:
    """A fresh Chromium (its profile in `profile`) on about:blank, its page connected; the browser is stopped
    on exit."""
    from websockets.sync.client import connect

    process = subprocess.Popen([chromium, *CHROMIUM_FLAGS, *extra_flags, f"--user-data-dir={profile}",
                                "--remote-debugging-port=0", "about:blank"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with connect(_page_websocket_url(process, profile), max_size=None, open_timeout=10) as websocket:
            yield DevToolsPage(websocket, reply_timeout_s)
    finally:
        process.terminate()
        process.wait(timeout=30)


def _page_websocket_url(process: subprocess.Popen, profile: Path) -> str:
    """The page's DevTools address, once Chromium has written its port to the profile."""
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + 30
    while not port_file.is_file() or not port_file.read_text().strip():
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError("chromium did not open its DevTools port")
        time.sleep(0.1)
    port = port_file.read_text().split()[0]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
        page = next(target for target in json.load(answer) if target["type"] == "page")
    return page["webSocketDebuggerUrl"]
