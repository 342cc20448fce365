"""A real `policy-signals serve` (uvicorn) on a free loopback port, and a small HTTP client for it."""
from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager

from tests.conftest import REPO


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Response:
    def __init__(self, status: int, headers: dict, body: bytes):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)


def request(port: int, method: str, path: str, body: bytes | dict | None = None, headers: dict | None = None,
            host: str = "127.0.0.1", chunked: bool = False) -> Response:
    """One HTTP request; a dict body is sent as JSON."""
    headers = dict(headers or {})
    if isinstance(body, dict):
        body, headers = json.dumps(body).encode(), {"Content-Type": "application/json", **headers}
    connection = http.client.HTTPConnection(host, port, timeout=120)
    try:
        if chunked:
            connection.putrequest(method, path)
            for name, value in {"Transfer-Encoding": "chunked", **headers}.items():
                connection.putheader(name, value)
            connection.endheaders()
            for start in range(0, len(body), 65536):
                piece = body[start:start + 65536]
                try:
                    connection.send(b"%x\r\n%s\r\n" % (len(piece), piece))
                except (BrokenPipeError, ConnectionResetError):  # the server answered before the end
                    break
            else:
                connection.send(b"0\r\n\r\n")
        else:
            connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return Response(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()


class Live:
    """A running server: its port, its process, and what it logged so far."""

    def __init__(self, port: int, process: subprocess.Popen, log):
        self.port, self.process, self._log = port, process, log

    def log(self) -> str:
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")


@contextmanager
def serve(*args: str, env: dict | None = None, startup: float = 180, host: str = "127.0.0.1"):
    """Start `python -m pipeline serve ARGS --port <free>`; yield a Live server once /health answers on `host`."""
    port = free_port()
    log = tempfile.TemporaryFile()  # not a pipe: an unread pipe would block the server once full
    process = subprocess.Popen([sys.executable, "-m", "pipeline", "serve", "--port", str(port), *args], cwd=REPO,
                               env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        deadline = time.monotonic() + startup
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"server exited {process.returncode}: {log.read().decode()[-3000:]}")
            try:
                if request(port, "GET", "/health", host=host).status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("server did not answer /health")
            time.sleep(0.25)
        yield Live(port, process, log)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # the server and its worker processes
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()
