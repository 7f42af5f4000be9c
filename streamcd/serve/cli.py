"""``streamcd serve CONFIG``: run a pipeline YAML with the live HTTP server beside it."""

from __future__ import annotations

import logging
import os
import sys
import threading
from pathlib import Path

from ..errors import ConfigError
from .options import DEFAULT_VIEW_FPS, TOKEN_ENV, is_loopback

log = logging.getLogger("streamcd.serve")


def add_serve_command(sub) -> None:
    p = sub.add_parser("serve", help="run a pipeline YAML and watch its streams in a browser",
                       description="Runs the pipeline as `streamcd run` does (same outputs) and "
                       "serves a live page, /metrics, /healthz, /api/streams and "
                       "/snapshot/STREAM.jpg. Needs streamcd[serve].")
    p.add_argument("config", type=Path)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: loopback only; any other needs a token)")
    p.add_argument("--port", type=int, default=8080, help="TCP port (0 picks a free one)")
    p.add_argument("--token", default=None,
                   help=f"access token for every route but /healthz (default: ${TOKEN_ENV}; "
                        "the variable keeps it out of the process list)")
    p.add_argument("--view-fps", type=float, default=DEFAULT_VIEW_FPS,
                   help="most frames per second sent to one viewer")
    p.add_argument("--exit-when-done", action="store_true",
                   help="stop when every stream has ended (default: keep serving until Ctrl-C)")
    p.add_argument("--max-frames", type=int, default=None, help="stop each stream after N frames")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set model.provider=cpu (repeatable)")
    p.add_argument("--quiet", action="store_true", help="no progress bars, warnings only")
    p.set_defaults(func=_cmd_serve)


def _cmd_serve(args) -> int:
    from ..cli import (
        EXIT_FAILURE,
        EXIT_OK,
        install_signal_handlers,
        print_report,
        restore_signal_handlers,
    )
    from ..config import PipelineConfig
    from ..console import ConsoleObserver
    from ..pipeline import Pipeline
    from .fanout import FanOut

    cfg = PipelineConfig.from_yaml(args.config, args.overrides)
    token = _check_args(args)
    try:
        from .app import create_app
        from .feed import LiveHub
        from .server import LiveServer
    except ImportError as e:
        raise ConfigError(f"streamcd serve needs {e.name}: pip install 'streamcd[serve]'") from e
    pipeline = Pipeline(cfg)
    hub = LiveHub([s.name for s in cfg.streams])
    stop = threading.Event()
    previous = install_signal_handlers(stop)
    console = ConsoleObserver(show_progress=not args.quiet and sys.stderr.isatty())
    try:
        hub.provider = pipeline.model.provider
        log.info("model on %s", hub.provider)
        with LiveServer(create_app(hub, token, args.view_fps), args.host, args.port) as server:
            print(f"live view: {server.url}/", file=sys.stderr)
            report = pipeline.run(max_frames=args.max_frames, observer=FanOut(console, hub),
                                  stop=stop)
            if not stop.is_set() and not args.exit_when_done:
                log.info("every stream ended; still serving %s until Ctrl-C", server.url)
                while not stop.wait(0.5):
                    pass
    finally:
        console.close()
        restore_signal_handlers(previous)
    print_report(report, args.quiet)
    return EXIT_OK if report.ok else EXIT_FAILURE


def _check_args(args) -> str | None:
    """The token to require (None: none); bad options are a ConfigError (exit 2)."""
    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port must be 0..65535, got {args.port}")
    if args.view_fps <= 0:
        raise ConfigError(f"--view-fps must be above 0, got {args.view_fps}")
    if args.max_frames is not None and args.max_frames < 1:
        raise ConfigError("--max-frames must be at least 1")
    token = args.token if args.token is not None else os.environ.get(TOKEN_ENV)
    if token is not None and not token.strip():
        raise ConfigError(f"the token is empty; give a non-empty --token or ${TOKEN_ENV}")
    if token is None and not is_loopback(args.host):
        raise ConfigError(f"--host {args.host} lets other machines see the cameras: set a token "
                          f"with ${TOKEN_ENV} (or --token), or leave --host at 127.0.0.1")
    return token
