"""``streamcd serve``: the pipeline with a live HTTP server beside it (needs ``streamcd[serve]``).

feed.py holds what the server knows of each stream (a RunObserver), render.py the pictures,
app.py the routes, auth.py the token, metrics.py the Prometheus collector, server.py uvicorn's
thread, static/ the page. Example::

    from streamcd.serve.app import create_app
    from streamcd.serve.server import LiveServer

    hub = LiveHub(s.name for s in config.streams)
    with LiveServer(create_app(hub), "127.0.0.1", 8080) as server:   # server.url
        Pipeline(config).run(observer=hub)
"""

from .feed import LiveHub, StreamFeed, StreamStatus

__all__ = ["LiveHub", "StreamFeed", "StreamStatus"]
