"""Headless Debian Chromium driven over the DevTools protocol (websockets), for tests of the page."""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--remote-debugging-port=0"]


def chromium() -> str:
    """The browser's path; outside CI a missing browser skips the test, in CI it fails it."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed (.ci/run installs Debian's chromium package)")
    pytest.skip("Debian's chromium package is not installed (apt-get install chromium)")


class Page:
    """One browser tab: evaluate JavaScript, send DevTools commands, collect console errors."""

    def __init__(self, socket):
        self.socket, self.next_id, self.errors, self.events = socket, 0, [], []

    async def send(self, method: str, **params) -> dict:
        self.next_id += 1
        ident = self.next_id
        await self.socket.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(await asyncio.wait_for(self.socket.recv(), 30))
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self._event(message)

    def _event(self, message: dict) -> None:
        method, params = message.get("method"), message.get("params", {})
        self.events.append(method)
        if method == "Runtime.exceptionThrown":
            self.errors.append(params["exceptionDetails"].get("text", "exception"))
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            self.errors.append(" ".join(str(a.get("value", a.get("description"))) for a in params["args"]))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            self.errors.append(params["entry"]["text"])

    async def js(self, expression: str):
        """The value of a JavaScript expression (promises awaited)."""
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:80]}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, expression: str, timeout: float = 60):
        """Poll until the expression is truthy (a JavaScript error counts as not yet); return its value."""
        deadline, last = time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            try:
                value = await self.js(expression)
            except RuntimeError as exc:  # e.g. the page's script has not run yet
                value, last = None, exc
            if value:
                return value
            await asyncio.sleep(0.2)
        raise TimeoutError(f"still false after {timeout} s: {expression} ({last})")

    async def drop(self, selector: str, path: Path) -> None:
        """Drag a file from the desktop and drop it on the middle of an element."""
        x, y = await self.js(f"(() => {{ const r = document.querySelector({selector!r}).getBoundingClientRect(); "
                             "return [r.x + r.width / 2, r.y + r.height / 2]; })()")
        data = {"items": [], "files": [str(path)], "dragOperationsMask": 1}
        for kind in ("dragEnter", "dragOver", "drop"):
            await self.send("Input.dispatchDragEvent", type=kind, x=x, y=y, data=data)

    async def choose_file(self, selector: str, path: Path) -> None:
        """Pick a file in an <input type=file>, as its dialog would."""
        target = await self.send("Runtime.evaluate", expression=f"document.querySelector({selector!r})")
        await self.send("DOM.setFileInputFiles", files=[str(path)], objectId=target["result"]["objectId"])

    async def key(self, key: str, code: str, vk: int, modifiers: int = 0, text: str = "") -> None:
        for kind in ("keyDown", "keyUp"):
            await self.send("Input.dispatchKeyEvent", type=kind, key=key, code=code, windowsVirtualKeyCode=vk,
                            modifiers=modifiers, **({"text": text} if text and kind == "keyDown" else {}))


async def open_page(url: str, profile: Path, run):
    """Start Chromium on `url` with a fresh profile and call `await run(page)`; the browser is always stopped."""
    import websockets

    process = subprocess.Popen([chromium(), *FLAGS, f"--user-data-dir={profile}", url],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not port_file.is_file() or not port_file.read_text().strip():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"chromium did not start: {process.stderr.read().decode()[-2000:]}")
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
            target = next(t for t in json.load(response) if t["type"] == "page")
        async with websockets.connect(target["webSocketDebuggerUrl"], max_size=2**26) as socket:
            page = Page(socket)
            for domain in ("Runtime", "Log", "Page", "DOM"):
                await page.send(f"{domain}.enable")
            return await run(page)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
