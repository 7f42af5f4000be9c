"""``streamcd`` command line. Owns logging set-up, progress bars and exit codes.

Exit codes: 0 ok, 1 runtime failure (a stream failed, a model cannot load), 2 bad config or usage.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .errors import REPORTED, ConfigError, StreamcdError

log = logging.getLogger("streamcd")

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    console = logging.StreamHandler()
    # Errors handed back in the run report are printed once, as ``error:`` lines, below.
    console.addFilter(lambda record: not getattr(record, REPORTED, False))
    logging.basicConfig(
        level=logging.WARNING if getattr(args, "quiet", False) else getattr(logging, args.log_level),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S",
        handlers=[console],
    )
    if not hasattr(args, "func"):
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.func(args)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except StreamcdError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="streamcd", description="Video change detection with a siamese ONNX model.")
    p.add_argument("--version", action="version", version=f"streamcd {__version__}")
    p.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    sub = p.add_subparsers(metavar="COMMAND")

    run = sub.add_parser("run", help="run a pipeline YAML")
    run.add_argument("config", type=Path)
    run.add_argument("--max-frames", type=int, default=None, help="stop each stream after N frames")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                     help="override a config value, e.g. --set model.provider=cpu (repeatable)")
    run.add_argument("--quiet", action="store_true", help="no progress bars, warnings only")
    run.add_argument("--backend", choices=["local", "ray"], default="local",
                     help="local: threads in this process; ray: actors on a Ray cluster "
                          "(needs streamcd[ray])")
    run.add_argument("--address", default=None, metavar="auto|ray://HOST:PORT",
                     help="Ray cluster to join (--backend ray); default: start a local one")
    run.set_defaults(func=_cmd_run)

    val = sub.add_parser("validate", help="check a pipeline YAML without running it")
    val.add_argument("config", type=Path)
    val.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    val.set_defaults(func=_cmd_validate)

    info = sub.add_parser("info", help="versions, execution providers and shipped models")
    info.set_defaults(func=_cmd_info)

    from .bench.cli import add_bench_command
    from .runtime.cli import add_model_commands
    from .serve.cli import add_serve_command
    from .train.cli import add_train_commands

    add_serve_command(sub)
    add_train_commands(sub)
    add_model_commands(sub)
    add_bench_command(sub)
    return p


def _cmd_validate(args) -> int:
    from .config import PipelineConfig

    cfg = PipelineConfig.from_yaml(args.config, args.overrides)
    print(f"{args.config}: ok ({len(cfg.streams)} stream{'s' * (len(cfg.streams) > 1)}: "
          f"{', '.join(s.name for s in cfg.streams)})")
    return EXIT_OK


def _cmd_info(args) -> int:
    import typing

    import av
    import cv2

    from .config import HwAccel
    from .runtime.assets import shipped_models, shipped_models_dir
    from .runtime.providers import gpu_support, import_ort
    from .sources.hwdecode import hwaccel_unavailable

    ort = import_ort()
    gpu = gpu_support()
    print(f"streamcd {__version__}")
    print(f"onnxruntime {ort.__version__}: providers {', '.join(ort.get_available_providers())}")
    print(f"  GPU providers: cuda {_yes(gpu.cuda)}, tensorrt {_yes(gpu.tensorrt)}"
          + ("" if gpu.cuda else " (pip install 'streamcd[gpu]' on a machine with an NVIDIA GPU)"))
    print(f"  onnxruntime.preload_dlls: {_yes(gpu.preload_dlls)}"
          + ("" if gpu.preload_dlls else " (added in onnxruntime 1.21; CUDA/cuDNN must then be "
             "on LD_LIBRARY_PATH)"))
    print(f"opencv {cv2.__version__}, PyAV {av.__version__} (libx264: {'libx264' in av.codecs_available})")
    for device in typing.get_args(HwAccel):
        try:
            reason = hwaccel_unavailable(device)
        except Exception as e:  # noqa: BLE001 - a diagnostic lists what it finds, it does not crash
            reason = f"probe failed: {type(e).__name__}: {e}"
        print(f"  hwaccel {device}: {'usable' if reason is None else f'unavailable ({reason})'}")
    print(f"models in {shipped_models_dir()}: {', '.join(shipped_models()) or 'none'}")
    return EXIT_OK


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _cmd_run(args) -> int:
    from .config import PipelineConfig
    from .console import ConsoleObserver
    from .pipeline import Pipeline

    cfg = PipelineConfig.from_yaml(args.config, args.overrides)
    if args.max_frames is not None and args.max_frames < 1:
        raise ConfigError("--max-frames must be at least 1")
    if args.address and args.backend != "ray":
        raise ConfigError("--address needs --backend ray")
    if args.backend == "ray":
        from .cluster.ray_backend import RayPipeline

        pipeline = RayPipeline(cfg, args.address)
    else:
        pipeline = Pipeline(cfg)
    stop = threading.Event()
    previous = install_signal_handlers(stop)
    observer = ConsoleObserver(show_progress=not args.quiet and sys.stderr.isatty())
    try:
        if args.backend == "local":
            log.info("model on %s", pipeline.model.provider)
        report = pipeline.run(max_frames=args.max_frames, observer=observer, stop=stop)
    finally:
        observer.close()
        restore_signal_handlers(previous)
    print_report(report, args.quiet)
    if args.backend == "ray" and not args.quiet:
        for line in report.summary_lines():  # cluster-wide: model actors, restarts
            print(line, file=sys.stderr)
    return EXIT_OK if report.ok else EXIT_FAILURE


def print_report(report, quiet: bool) -> None:
    """One line per stream on stderr: its error, or (unless ``quiet``) frames, fps and times."""
    for s in report.streams:
        if s.error:
            print(f"error: stream {s.name}: {s.error}", file=sys.stderr)
        elif not quiet:
            ms = s.times.per_frame_ms()
            print(f"{s.name}: {s.frames} frames in {s.seconds:.1f} s ({s.fps:.1f} fps end to end; "
                  f"inference {ms['inference']:.1f} ms, postprocess {ms['postprocess']:.1f} ms, "
                  f"background {ms['background']:.1f} ms per frame; provider {report.provider})",
                  file=sys.stderr)


def restore_signal_handlers(previous: dict[int, object]) -> None:
    """Put back what ``install_signal_handlers`` replaced: main() may run inside a
    longer-lived process (tests, notebooks) that wants its Ctrl-C back."""
    for signum, handler in previous.items():
        if handler is not None:  # None: set outside Python, cannot be put back
            signal.signal(signum, handler)


def install_signal_handlers(stop: threading.Event) -> dict[int, object]:
    """First SIGINT/SIGTERM: stop reading, flush and close sinks. Second: exit at once.

    Returns the handlers they replace, for the caller to restore.
    """
    if threading.current_thread() is not threading.main_thread():
        return {}

    def handler(signum, _frame):
        if stop.is_set():
            os._exit(128 + signum)
        log.warning("%s received: finishing outputs (send again to exit at once)",
                    signal.Signals(signum).name)
        stop.set()

    return {signum: signal.signal(signum, handler) for signum in (signal.SIGINT, signal.SIGTERM)}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
