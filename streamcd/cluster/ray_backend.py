"""The Ray driver: places model and stream actors, follows them, aggregates their reports.

Placement. Model actors start first (``ray.model_actors``, each with ``ray.model_cpus`` CPUs and
``ray.num_gpus`` GPUs, by default one GPU when the cluster has any), then one stream actor per
stream (``ray.stream_cpus``), spread round-robin over the model actors. An actor that has not
started within ``ray.placement_timeout_s`` (no node has room, or its ``__init__`` failed) is
killed and its stream reported with the reason and the cluster's resources: never dropped
silently. Restarts are Ray's (``max_restarts`` / ``max_task_retries``), see
:mod:`.stream_worker` for how a stream resumes.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..config import PipelineConfig
from ..errors import REPORTED
from ..follow import RunFollower
from ..pipeline import PipelineReport, RunObserver, StreamReport
from ..stats import FixedWindow
from . import import_ray
from .connect import connect_ray
from .model_server import ModelInfo, ModelServer, ModelStats
from .stream_worker import StreamSnapshot, StreamWorker

log = logging.getLogger(__name__)

POLL_S = 0.2
#: Threads of a stream actor: ``run`` plus the driver's ``poll`` and ``stop``.
STREAM_CONCURRENCY = 4


@dataclass
class RayPipelineReport(PipelineReport):
    """PipelineReport plus the cluster view: model actors' batching, restarts, placement."""

    models: list[ModelStats] = field(default_factory=list)
    restarts: dict[str, int] = field(default_factory=dict)
    nodes: dict[str, str] = field(default_factory=dict)  # stream -> node id
    seconds: float = 0.0

    @property
    def frames(self) -> int:
        return sum(s.frames for s in self.streams)

    @property
    def fps(self) -> float:
        """Cluster-wide results per second over the whole run."""
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def summary_lines(self) -> list[str]:
        """Cluster-wide lines for the CLI: totals, each model actor's batching, restarts."""
        nodes = len(set(self.nodes.values()))
        total = (f"cluster: {len(self.streams)} streams, {self.frames} frames in "
                 f"{self.seconds:.1f} s ({self.fps:.1f} fps) on {nodes} node(s)")
        lines = [total]
        for m in self.models:
            lines.append(f"model actor {m.actor} ({m.provider}, node {m.node[:12]}): {m.frames} "
                         f"frames in {m.batches} batches (mean {m.mean_batch:.1f}, largest "
                         f"{m.largest_batch}), busy {m.busy_s:.1f} s, "
                         f"{m.reference_encodes} reference encodes")
        restarted = {k: v for k, v in self.restarts.items() if v}
        if restarted:
            lines.append("restarts: " + ", ".join(f"{k} {v}" for k, v in sorted(restarted.items())))
        return lines


class RayPipeline:
    """All streams of a config on a Ray cluster (a local one when ``address`` is None).

    Example::

        report = RayPipeline.from_yaml("cameras.yaml", address="auto").run()
        print(report.fps, [m.mean_batch for m in report.models])
    """

    def __init__(self, config: PipelineConfig, address: str | None = None) -> None:
        self.config = config
        self.address = address
        #: stream name -> its actor handle, and the model actors, while ``run`` works (for
        #: operators and tests)
        self.stream_actors: dict[str, object] = {}
        self.model_actors: list = []

    @classmethod
    def from_yaml(cls, path: str | Path, overrides: Sequence[str] = (),
                  address: str | None = None) -> RayPipeline:
        return cls(PipelineConfig.from_yaml(path, overrides), address)

    def run(self, max_frames: int | None = None, observer: RunObserver | None = None,
            stop: threading.Event | None = None,
            on_wait: Callable[[], None] | None = None) -> RayPipelineReport:
        """Like :meth:`Pipeline.run`; connects to (or starts) Ray unless already connected."""
        ray = import_ray()
        owns_ray = not ray.is_initialized()
        if owns_ray:
            r = self.config.ray
            connect_ray(ray, self.address, num_cpus=r.local_num_cpus,
                        object_store_mb=r.local_object_store_mb, log_to_driver=True)
        config, temp_state = self._with_state_dir()
        try:
            follower = RunFollower(config, observer or RunObserver(), stop or threading.Event(),
                                   on_wait)
            return _Run(ray, config, follower, self.stream_actors,
                        self.model_actors).run(max_frames)
        finally:
            if owns_ray:
                ray.shutdown()
            if temp_state is not None:
                shutil.rmtree(temp_state, ignore_errors=True)

    def _with_state_dir(self) -> tuple[PipelineConfig, Path | None]:
        """Every stream needs a state dir to resume from; a run-local one when the YAML has none."""
        if all(s.background.state_dir is not None for s in self.config.streams):
            return self.config, None
        temp = Path(tempfile.mkdtemp(prefix="streamcd-ray-state-"))
        if self.address:
            log.warning("streams without background.state_dir keep their state in %s on the "
                        "driver's machine: a stream restarted on another node starts afresh; "
                        "set background.state_dir to shared storage", temp)
        streams = [s if s.background.state_dir is not None else s.model_copy(update={
            "background": s.background.model_copy(update={"state_dir": temp})})
            for s in self.config.streams]
        return self.config.model_copy(update={"streams": streams}), temp


class _Run:
    """One run of a RayPipeline: the actors, their reports, the polling loop.

    Everything here runs on the caller's thread, observer hooks included.
    """

    def __init__(self, ray, config: PipelineConfig, follower: RunFollower,
                 handles: dict[str, object], model_handles: list) -> None:
        self.ray, self.config, self.follower = ray, config, follower
        self.observer = follower.observer
        self.handles, self.model_handles = handles, model_handles
        self.model_names: list[str] = []
        self.run_id = uuid.uuid4().hex[:8]
        self.reports = {s.name: StreamReport(s.name, meter=FixedWindow()) for s in config.streams}
        self.restarts: dict[str, int] = {}
        self.nodes: dict[str, str] = {}
        self._info_refs: list = []  # ObjectRefs of the model infos the stream actors start from
        self.started: set[str] = set()
        self.finished: set[str] = set()

    def run(self, max_frames: int | None) -> RayPipelineReport:
        t0 = time.monotonic()
        models, infos = self._start_models()
        streams = self._start_streams(models, infos) if models else {}
        self.handles.update(streams)
        self.model_handles[:] = models
        try:
            self._follow(streams, max_frames)
            stats = self._model_stats(models)
        finally:
            self.handles.clear()
            self.model_handles.clear()
            for actor in [*streams.values(), *models]:
                self.ray.kill(actor, no_restart=True)
        provider = infos[0].provider if infos else "none"
        return RayPipelineReport(provider, list(self.reports.values()), stats, self.restarts,
                                 self.nodes, time.monotonic() - t0)

    # -- placement --------------------------------------------------------------------------

    def _start_models(self) -> tuple[list, list[ModelInfo]]:
        ray, r = self.ray, self.config.ray
        gpus = r.num_gpus
        if gpus is None:
            gpus = 1.0 if ray.cluster_resources().get("GPU", 0) >= 1 else 0.0
        model_cfg = self.config.model
        if model_cfg.threads is None:  # do not let each ONNX session take every core of a node
            model_cfg = model_cfg.model_copy(update={"threads": max(1, int(r.model_cpus))})
        actor_cls = ray.remote(ModelServer)
        options = {"num_cpus": r.model_cpus, "num_gpus": gpus, "max_restarts": r.max_restarts,
                   "max_task_retries": r.max_restarts}
        # Named, so that stream actors look them up: an actor handle passed as a constructor
        # argument would live in the object store, and a restart may find it gone.
        actors = [actor_cls.options(name=self._model_name(i), **options).remote(
            model_cfg, model_cfg.max_batch, model_cfg.max_wait_ms, i)
            for i in range(r.model_actors)]
        placed = self._wait_placed(actors, [a.info.remote() for a in actors],
                                   {"CPU": r.model_cpus, "GPU": gpus})
        if not any(ok for ok, _ in placed):
            why = placed[0][1]
            for report in self.reports.values():
                report.error = f"no model actor could be placed: {why}"
            return [], []
        for i, (ok, why) in enumerate(placed):
            if not ok:
                log.error("model actor %d not placed: %s", i, why)
        ready = [(a, info, self._model_name(i)) for i, (a, (ok, info))
                 in enumerate(zip(actors, placed)) if ok]
        log.info("%d model actor(s) on %s, %g GPU each", len(ready), ready[0][1].provider, gpus)
        self.model_names = [name for _, _, name in ready]
        return [a for a, _, _ in ready], [info for _, info, _ in ready]

    def _model_name(self, i: int) -> str:
        return f"streamcd-{self.run_id}-model-{i}"

    def _start_streams(self, models: list, infos: list[ModelInfo]) -> dict[str, object]:
        ray, r = self.ray, self.config.ray
        actor_cls = ray.remote(StreamWorker).options(
            num_cpus=r.stream_cpus, max_restarts=r.max_restarts, max_task_retries=r.max_restarts,
            max_concurrency=STREAM_CONCURRENCY)
        k = len(models)
        # Held here for the whole run: a restarted stream actor is made again from the same
        # arguments, and an info of over 100 kB (head and shadow graphs) lives in the object
        # store, where an argument nobody holds is freed once the first actor has started.
        self._info_refs = [ray.put(info) for info in infos]
        actors = {s.name: actor_cls.remote(s, self.model_names[i % k], self._info_refs[i % k],
                                           self.run_id)
                  for i, s in enumerate(self.config.streams)}
        placed = self._wait_placed(list(actors.values()), [a.ready.remote() for a in
                                                            actors.values()],
                                   {"CPU": r.stream_cpus})
        running = {}
        for (name, actor), (ok, answer) in zip(actors.items(), placed):
            if ok:
                self.nodes[name] = answer
                running[name] = actor
                self.reports[name].start()
            else:
                self.reports[name].error = f"stream actor not placed: {answer}"
                log.error("stream %s: actor not placed: %s", name, answer, extra={REPORTED: True})
                self.ray.kill(actor, no_restart=True)
                self.observer.on_end(self.reports[name])
        return running

    def _wait_placed(self, actors: list, probes: list, request: dict[str, float]) -> list:
        """(True, probe answer) per actor started in time, else (False, why)."""
        ray = self.ray
        done, _ = ray.wait(probes, num_returns=len(probes),
                           timeout=self.config.ray.placement_timeout_s)
        out = []
        for actor, probe in zip(actors, probes):
            if probe not in done:
                ray.kill(actor, no_restart=True)
                out.append((False, _placement_hint(ray, request, self.config.ray.placement_timeout_s)))
                continue
            try:
                out.append((True, ray.get(probe)))
            except ray.exceptions.RayError as e:
                out.append((False, f"failed to start: {_first_line(e)}"))
        return out

    # -- following --------------------------------------------------------------------------

    def _follow(self, actors: dict[str, object], max_frames: int | None) -> None:
        self._actors = actors
        self._runs = {actor.run.remote(max_frames): name for name, actor in actors.items()}
        self._polls: dict[object, str] = {}
        self.follower.follow(list(self.reports.values()), self._wait, self._interrupt)

    def _interrupt(self) -> None:
        for name in self._runs.values():
            self._actors[name].stop.remote()

    def _wait(self) -> bool:
        """Poll every running stream actor, apply what came within POLL_S; False once all ended."""
        ray, runs, polls = self.ray, self._runs, self._polls
        if not runs:
            return False
        busy = set(polls.values())
        for name in set(runs.values()) - busy:
            polls[self._actors[name].poll.remote()] = name
        done, _ = ray.wait([*runs, *polls], num_returns=len(runs) + len(polls), timeout=POLL_S)
        # Polls first: a poll answered together with the final report holds older counters.
        for ref in sorted(done, key=lambda r: r in runs):
            final = ref in runs
            name = runs.pop(ref) if final else polls.pop(ref)
            try:
                self._apply(ray.get(ref), counters=name not in self.finished)
            except ray.exceptions.RayError as e:
                if not final:
                    continue  # a poll that met a restarting actor: poll again
                # restarts exhausted, or the node is gone for good
                self.reports[name].error = f"stream actor died: {_first_line(e)}"
                log.error("stream %s: %s", name, self.reports[name].error,
                          extra={REPORTED: True})
            if final:
                self.finished.add(name)
                if self.reports[name].running:  # the actor died before its final report
                    self.reports[name].end()
                self.observer.on_end(self.reports[name])
        return True

    def _apply(self, snap: StreamSnapshot, counters: bool = True) -> None:
        report = self.reports[snap.name]
        if snap.started and snap.name not in self.started:
            self.started.add(snap.name)
            self.observer.on_start(snap.name, snap.total, snap.live)
        for event in snap.events:
            self.observer.on_event(event)
        for result in snap.results:
            self.observer.on_result(snap.name, result)
        if not counters:  # a poll answered after the stream's final report
            return
        report.frames, report.dropped, report.corrupt = snap.frames, snap.dropped, snap.corrupt
        report.reconnects, report.live, report.times = snap.reconnects, snap.live, snap.times
        report.error = snap.error
        report.meter = FixedWindow(*snap.window)
        if snap.finished:
            report.end(snap.seconds)
        self.restarts[snap.name] = snap.restarts
        self.nodes[snap.name] = snap.node

    def _model_stats(self, models: list) -> list[ModelStats]:
        refs = [m.stats.remote() for m in models]
        done, _ = self.ray.wait(refs, num_returns=len(refs), timeout=10)
        out = []
        for ref in refs:
            try:
                out.append(self.ray.get(ref, timeout=0) if ref in done else None)
            except self.ray.exceptions.RayError:
                pass
        return [s for s in out if s is not None]


def _placement_hint(ray, request: dict[str, float], timeout_s: float) -> str:
    wanted = {k: v for k, v in request.items() if v}
    nodes = [n.get("Resources", {}) for n in ray.nodes() if n.get("Alive")]
    fits = any(all(res.get(k, 0) >= v for k, v in wanted.items()) for res in nodes)
    have = ", ".join(f"{k} {v:g}" for k, v in sorted(ray.cluster_resources().items())
                     if k in ("CPU", "GPU"))
    why = ("no node had room for it in time, or it was slow to start" if fits
           else "no node of the cluster is that large")
    return (f"not started within {timeout_s:g} s: it needs {wanted}, {why} (cluster: {have}); "
            "add nodes, lower ray.stream_cpus / ray.model_cpus / ray.num_gpus, or raise "
            "ray.placement_timeout_s")


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__

