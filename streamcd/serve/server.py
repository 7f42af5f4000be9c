"""Uvicorn on a thread of its own, beside the pipeline, as a context manager.

The listening socket is bound here, before the thread starts, so that a taken port is a
:class:`~streamcd.errors.ServeError` at once (not a log line on another thread) and port 0 picks
a free one. Leaving the block asks uvicorn to finish: open live views are closed after
``GRACE_S`` at most.

Example::

    with LiveServer(create_app(hub), "127.0.0.1", 8080) as server:
        print(server.url)
        pipeline.run(observer=hub)
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import TYPE_CHECKING

from ..errors import ServeError

if TYPE_CHECKING:
    from typing import Self

log = logging.getLogger(__name__)

#: Seconds open connections (live views) get to finish when the server stops.
GRACE_S = 2.0
_START_TIMEOUT_S = 10.0


class LiveServer:
    """Serves ``app`` on ``host:port`` from a daemon thread between ``__enter__`` and ``__exit__``."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 8080) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._server = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def __enter__(self) -> Self:
        import uvicorn

        sock = _listen(self.host, self.port)
        self.port = sock.getsockname()[1]
        # No per-message deflate: JPEGs do not shrink, and zlib cost ~5x the rest per frame.
        config = uvicorn.Config(self.app, log_config=None, log_level="warning", access_log=False,
                                lifespan="on", timeout_graceful_shutdown=GRACE_S,
                                ws="websockets-sansio", ws_per_message_deflate=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name="serve", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.__exit__()
                raise ServeError(f"the HTTP server on {self.url} did not start; "
                                 "see the log above")
            time.sleep(0.02)
        log.info("serving the live view on %s", self.url)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(GRACE_S + 3)
            if self._thread.is_alive():
                log.warning("the HTTP server did not stop in %.0f s; leaving it", GRACE_S + 3)


def _listen(host: str, port: int) -> socket.socket:
    sock = None
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as e:
        if sock is not None:
            sock.close()
        raise ServeError(f"cannot listen on {host}:{port}: {e.strerror or e}; choose another "
                         "--port (0 picks a free one) or stop the program using it") from e
    return sock
