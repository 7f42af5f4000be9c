"""``streamcd serve``: the pipeline with a live HTTP server beside it (needs ``streamcd[serve]``).

feed.py holds what the server knows of each stream (a RunObserver), render.py the pictures,
app.py the routes, auth.py the token, metrics.py the Prometheus collector, server.py uvicorn's
thread, options.py the defaults, fanout.py the observer pair, cli.py the command, static/ the
page. Example::

    from streamcd.serve.app import create_app
    from streamcd.serve.server import LiveServer

    hub = LiveHub(s.name for s in config.streams)
    with LiveServer(create_app(hub), "127.0.0.1", 8080) as server:   # server.url
        Pipeline(config).run(observer=hub)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__all__ = ["LiveHub", "StreamFeed", "StreamStatus"]

if TYPE_CHECKING:  # pragma: no cover
    from .feed import LiveHub, StreamFeed, StreamStatus


def __getattr__(name: str):
    # Lazy: the CLI imports streamcd.serve.cli to build its parser, which must stay light.
    if name in __all__:
        from . import feed

        return getattr(feed, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
