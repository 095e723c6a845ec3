"""Helpers for tests that run the real ``recommender serve`` process."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# The console script's entry point, in this interpreter (no reliance on PATH).
COMMAND = [sys.executable, "-c", "from recommender.cli import main; main()"]


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the real command line (``recommender ...``) in ``cwd``."""
    return subprocess.run(
        [*COMMAND, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def http(
    url: str, body: Any = None, headers: dict[str, str] | None = None, method: str | None = None
) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of a request; HTTP errors are answers, not exceptions."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=dict(headers or {}), method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@contextlib.contextmanager
def serve_process(index: Path, cwd: Path, *extra: str, timeout: float = 90) -> Iterator[str]:
    """Start ``recommender serve`` on a free port; yield its base URL; stop it afterwards."""
    port = free_port()
    log = (cwd / f"serve-{port}.log").open("w+")
    process = subprocess.Popen(
        [*COMMAND, "serve", "--index", str(index), "--port", str(port), *extra],
        cwd=cwd,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                log.seek(0)
                pytest.fail(f"recommender serve exited with {process.returncode}:\n{log.read()}")
            try:
                if http(base + "/health")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"recommender serve did not answer /health within {timeout} s")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
