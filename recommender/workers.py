"""``serve --workers N``: N uvicorn processes over one index, each loading it through the app
factory :func:`recommender.server.app.app_from_environment` (memory-mapped version files, so the
page cache holds one copy), each hot-reloading on its own.

With ``workers > 1`` uvicorn binds the listening socket in the supervisor and hands it to the
workers; asyncio then does not set ``TCP_NODELAY`` on the accepted connections (the socket's
protocol number reads 0, not TCP), and a keep-alive client waits for the delayed ACK: 44 ms per
request instead of 2 ms on loopback. The protocol classes here set it on every connection.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from recommender.metrics import MULTIPROC_ENV
from recommender.server import app as server
from recommender.storage import versions as persistence


def _no_delay(transport: Any) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayH11Protocol(H11Protocol):
    def connection_made(self, transport: Any) -> None:
        _no_delay(transport)
        super().connection_made(transport)


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class NoDelayHttpToolsProtocol(HttpToolsProtocol):
        def connection_made(self, transport: Any) -> None:
            _no_delay(transport)
            super().connection_made(transport)

    HTTP_PROTOCOL = "recommender.workers:NoDelayHttpToolsProtocol"
except ImportError:  # httptools is optional in uvicorn: its pure-Python parser then
    HTTP_PROTOCOL = "recommender.workers:NoDelayH11Protocol"


def run(
    index: Path,
    config: Path | None,
    access_log_file: Path | None,
    workers: int,
    **uvicorn_options: Any,
) -> None:
    """Check the index, hand its settings to the workers (environment), run uvicorn."""
    import uvicorn

    persistence.read_manifest(persistence.resolve_version(index), verify=False)  # fail early
    os.environ[server.ENV_INDEX] = str(index)
    os.environ[server.ENV_CONFIG] = str(config) if config else ""
    os.environ[server.ENV_ACCESS_LOG] = str(access_log_file) if access_log_file else ""
    if not os.environ.get(MULTIPROC_ENV):  # counters summed over the workers
        folder = tempfile.mkdtemp(prefix=f"recommender-metrics-{workers}-")
        os.environ[MULTIPROC_ENV] = folder
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
    uvicorn.run(
        "recommender.server.app:app_from_environment",
        factory=True,
        workers=workers,
        http=HTTP_PROTOCOL,
        **uvicorn_options,
    )
