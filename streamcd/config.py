"""The pipeline schema: YAML in, typed and validated objects out.

Defaults live here and nowhere else. Relative paths in a YAML file are taken relative to the
current working directory (the place ``streamcd run`` is started from).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from .runtime.geometry import TRAINING_SIDE
from .yamlconf import load_validated

log = logging.getLogger(__name__)


class _Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------------------------------------
# Sources


class ReconnectConfig(_Schema):
    """Exponential backoff with jitter between reconnect attempts of a network source."""

    initial_delay_s: float = Field(0.5, gt=0)
    max_delay_s: float = Field(10.0, gt=0)
    multiplier: float = Field(2.0, ge=1.0)
    jitter: float = Field(0.2, ge=0.0, le=1.0, description="+-fraction of random spread")
    max_attempts: int | None = Field(None, ge=0, description="None = retry forever")


#: Hardware video decoders FFmpeg can use through PyAV (cuda = NVDEC).
HwAccel = Literal["cuda", "vaapi"]
#: Base threshold of the feature bank for a model card that names none (``bank_threshold``);
#: the value ``streamcd train`` records for its recipe (export/MODEL_CARD.md).
BANK_THRESHOLD = 0.4
#: Most frames ``postprocess.temporal_mean`` (and a model card's ``temporal_mean``) may average.
TEMPORAL_MEAN_MAX = 16
HWACCEL_HELP = "hardware decode (cuda = NVIDIA NVDEC); software decode when unavailable"


class VideoSourceConfig(_Schema):
    """A video file or any URL FFmpeg can read (http, rtmp, ...); never drops frames."""

    type: Literal["video"] = "video"
    path: str
    max_frames: int | None = Field(None, ge=1)
    hwaccel: HwAccel | None = Field(None, description=HWACCEL_HELP)


class CdnetSourceConfig(_Schema):
    """A CDnet 2014 video folder (``input/in%06d.jpg``, ``temporalROI.txt``)."""

    type: Literal["cdnet"] = "cdnet"
    path: Path
    temporal_roi_only: bool = Field(
        False, description="yield only the frames inside temporalROI.txt (numbers kept)"
    )
    on_corrupt: Literal["skip", "stop"] = "skip"


class ImagesSourceConfig(_Schema):
    """An image sequence given by a glob pattern, read in natural sort order."""

    type: Literal["images"] = "images"
    pattern: str
    fps: float = Field(25.0, gt=0)
    on_corrupt: Literal["skip", "stop"] = "skip"


class RtspSourceConfig(_Schema):
    """An RTSP camera, read on its own thread; keeps only the newest frames."""

    type: Literal["rtsp"] = "rtsp"
    url: str
    transport: Literal["tcp", "udp"] = "tcp"
    open_timeout_s: float = Field(5.0, gt=0)
    read_timeout_s: float = Field(5.0, gt=0)
    queue_size: int = Field(1, ge=1, description="newest frames kept; 1 = lowest latency")
    reconnect: ReconnectConfig = ReconnectConfig()
    hwaccel: HwAccel | None = Field(None, description=HWACCEL_HELP)


class WebcamSourceConfig(_Schema):
    """A local V4L2 camera such as ``/dev/video0``; keeps only the newest frames."""

    type: Literal["webcam"] = "webcam"
    device: str = "/dev/video0"
    width: int | None = Field(None, ge=1)
    height: int | None = Field(None, ge=1)
    fps: float | None = Field(None, gt=0)
    queue_size: int = Field(1, ge=1, description="newest frames kept; 1 = lowest latency")


SourceConfig = Annotated[
    VideoSourceConfig | CdnetSourceConfig | ImagesSourceConfig | RtspSourceConfig | WebcamSourceConfig,
    Field(discriminator="type"),
]


# ---------------------------------------------------------------------------------------------
# Background


class BankConfig(_Schema):
    """The adaptive feature bank (``background.model: bank``): see streamcd.background.bank."""

    samples: int = Field(8, ge=1, le=64, description="reference feature samples per pixel")
    matches: int = Field(2, ge=1, description="a pixel is background when this many samples are "
                         "within its threshold (its distance is the matches-th smallest)")
    subsample: int = Field(16, ge=1, description="a background pixel replaces a sample (and one "
                           "of a neighbour's) with probability 1/subsample per frame")
    dynamic_factor: float = Field(2.0, ge=0.0, description="per-pixel threshold = max(base, "
                                  "dynamic_factor x running mean of the pixel's distance)")
    mean_frames: int = Field(100, ge=1, description="the running mean forgets over about this "
                             "many frames")
    still_update: int = Field(0, ge=0, description="foreground that has not changed for 250 "
                              "frames in a row (a ghost, a stopped object) replaces a sample with "
                              "probability 1/still_update per frame; 0 (default) = never: ghosts "
                              "heal by diffusion alone, people who stand still stay foreground")
    colour_threshold: int = Field(30, ge=0, le=765, description="a pixel whose colour is within "
                                  "this sum of |B|+|G|+|R| differences of `matches` colour samples "
                                  "is background whatever its features say (removes the halo "
                                  "around objects and shadows); 0 = features only")
    shade: float = Field(0.8, ge=0.0, le=1.0, description="a colour sample also matches the "
                         "frame's colour when that is the same colour in soft shade: at least "
                         "this fraction as bright, no brighter, same chromaticity (a person's soft "
                         "shadow on a wall is background); 1 = off")
    ghosts: bool = Field(True, description="foreground blobs whose outline is an edge of what "
                         "the bank holds rather than of the frame (an object that was there has "
                         "left: a ghost) are learnt within a few frames; false = ghosts heal by "
                         "diffusion alone (slowly)")
    exposure: bool = Field(True, description="each frame's brightness is matched to the "
                           "bank's picture (one gain per colour channel, over the whole view) "
                           "before it is compared: a cloud, dusk or a camera's auto-exposure "
                           "does not turn the scene into foreground; false = frames as they are")
    align: bool = Field(True, description="a frame shifted by a cell of the bank's grid or more "
                        "against the bank's picture (a shaking camera) is moved back before it is "
                        "compared, and the mask moved onto the frame; false = frames as they are")
    shadows: bool = Field(True, description="where the model card names a shadow network "
                          "(the shipped models do), changed pixels it takes for a hard cast "
                          "shadow (darker than the bank's picture) are background; false = off")
    dtype: Literal["auto", "float32", "float16", "int8"] = Field(
        "auto", description="storage of the samples; auto: int8 (unit-length features x 127) "
        "when float32 would take more than 32 MB per stream (720p and up), float16 there for a "
        "model whose features are not of unit length")

    @model_validator(mode="after")
    def _matches_fit(self) -> BankConfig:
        if self.matches > self.samples:
            raise ValueError(f"background.bank.matches ({self.matches}) cannot exceed samples "
                             f"({self.samples})")
        return self


class BackgroundConfig(_Schema):
    """How the reference background is created, kept up to date and persisted."""

    model: Literal["bank", "reference"] = Field(
        "bank", description="bank: per-pixel feature samples from several frames, updated where "
        "the mask says background, per-pixel thresholds (adapts to waving trees, objects that "
        "leave, light changes); reference: one reference image (the median), fixed unless "
        "update_rate > 0"
    )
    bank: BankConfig = BankConfig()

    init: Literal["median", "image", "cdnet"] = Field(
        "median",
        description="median: temporal median of the first `frames` frames; image: `image` file; "
        "cdnet: median of the CDnet frames before temporalROI",
    )
    image: Path | None = None
    frames: int = Field(30, ge=1, le=1000, description="frames in the median")
    stride: int = Field(1, ge=1, description="take every stride-th frame for the median")
    median: Literal["still", "all"] = Field(
        "still",
        description="still: per pixel, the median of the half of the frames with the least "
        "motion around it (objects that linger in the first frames stay out of the reference); "
        "all: the plain median of every frame",
    )
    update_rate: float = Field(
        0.0, ge=0.0, le=1.0, description="blend factor of the slow update (0 = off)"
    )
    update_every: int = Field(25, ge=1, description="frames between slow updates")
    scene_change_fraction: float = Field(
        0.7, gt=0.0, le=1.0, description="foreground fraction that signals a global change"
    )
    scene_change_frames: int = Field(
        10, ge=1, description="consecutive frames above the fraction before re-initialising"
    )
    state_dir: Path | None = Field(
        None, description="folder where the reference is persisted across restarts"
    )

    @model_validator(mode="after")
    def _image_needs_path(self) -> BackgroundConfig:
        if self.init == "image" and self.image is None:
            raise ValueError("background.init 'image' needs background.image: a path to a picture")
        return self


# ---------------------------------------------------------------------------------------------
# Postprocess


class PostprocessConfig(_Schema):
    """Distance map -> mask."""

    threshold: float | None = Field(
        None, gt=0.0, description="distance threshold; None = the model card's value"
    )
    temporal_mean: int | None = Field(
        None, ge=1, le=TEMPORAL_MEAN_MAX, description="threshold the mean of the distance maps "
        "of this many consecutive frames, each earlier one capped by this frame's (no trail "
        "behind a moving object; 1 = each frame alone); None = the model card's value (1 when "
        "it has none)"
    )
    hysteresis: float = Field(0.75, gt=0.0, le=1.0, description="pixels above this share of the "
                              "threshold join a blob above the threshold that they touch, if "
                              "that blob is as large as the smallest kept (hysteresis "
                              "thresholding: the parts of an object that differ only a little, a "
                              "shirt much like the wall, come with the parts that clearly do); "
                              "1 = off")
    open_px: int = Field(0, ge=0, description="morphological opening kernel size (0 = off)")
    close_px: int = Field(5, ge=0, description="morphological closing kernel size (0 = off)")
    fill_holes: bool = Field(True, description="background enclosed by foreground (not reaching "
                             "the frame's edge) becomes foreground: an object whose inside "
                             "looks like what it covers is whole; false = holes kept")
    min_area: int = Field(0, ge=0, description="blobs smaller than this many pixels are removed")
    min_area_fraction: float = Field(
        0.001, ge=0.0, lt=1.0, description="blobs smaller than this share of the frame are "
        "removed (the same at any resolution; with min_area, the larger of the two applies)"
    )

    @model_validator(mode="before")
    @classmethod
    def _calibrate_removed(cls, data: object) -> object:
        """``postprocess.calibrate`` (older YAML) is dropped, with a warning."""
        if not isinstance(data, dict) or "calibrate" not in data:
            return data
        log.warning("postprocess.calibrate is no longer used: the per-scene threshold rule "
                    "was removed; remove the key")
        return {k: v for k, v in data.items() if k != "calibrate"}


# ---------------------------------------------------------------------------------------------
# Sinks


class CdnetSinkConfig(_Schema):
    """CDnet results folder: ``bin%06d.png`` (0/255), named by input frame number."""

    type: Literal["cdnet"] = "cdnet"
    dir: Path


class MaskVideoSinkConfig(_Schema):
    """The masks as an H.264 video (white = foreground)."""

    type: Literal["mask_video"] = "mask_video"
    path: Path
    fps: float | None = Field(None, gt=0, description="None = the source's rate (25 if unknown)")
    crf: int = Field(23, ge=0, le=51)


class AnnotatedVideoSinkConfig(_Schema):
    """The input with the foreground tinted, outlined and boxed, as browser-playable H.264 MP4."""

    type: Literal["annotated_video"] = "annotated_video"
    path: Path
    fps: float | None = Field(None, gt=0, description="None = the source's rate (25 if unknown)")
    crf: int = Field(23, ge=0, le=51)
    draw: Literal["contours", "boxes", "both"] = "both"
    alpha: float = Field(0.4, ge=0.0, le=1.0, description="tint strength of the foreground")


class JsonlSinkConfig(_Schema):
    """One JSON line per frame (frame, time, foreground fraction, boxes) and per stream event."""

    type: Literal["jsonl"] = "jsonl"
    path: Path
    every: int = Field(1, ge=1, description="write every n-th frame")


SinkConfig = Annotated[
    CdnetSinkConfig | MaskVideoSinkConfig | AnnotatedVideoSinkConfig | JsonlSinkConfig,
    Field(discriminator="type"),
]


# ---------------------------------------------------------------------------------------------
# Model and top level


class TensorrtConfig(_Schema):
    """TensorRT provider options (``provider: tensorrt``); built engines are cached on disk."""

    engine_cache: bool = Field(True, description="keep built engines (the first build takes minutes)")
    engine_cache_path: Path | None = Field(
        None, description="engine and timing cache folder; None = ~/.cache/streamcd/tensorrt"
    )
    fp16: bool = Field(False, description="let TensorRT run layers in float16")


class ModelConfig(_Schema):
    """Which ONNX change model runs, and where."""

    path: Path | None = Field(None, description="model card JSON or folder; None = shipped default")
    name: str = Field("default", description="shipped model name when path is not given")
    provider: Literal["auto", "cuda", "tensorrt", "cpu"] = "auto"
    threads: int | None = Field(None, ge=1, description="CPU intra-op threads; None = the cores, at most 4")
    device_id: int = Field(0, ge=0, description="GPU index for provider cuda / tensorrt")
    io_binding: bool | None = Field(
        None, description="bind inputs/outputs on the session's device, reference features kept "
        "there; None = on for cuda/tensorrt, off on CPU"
    )
    max_batch: int = Field(
        1, ge=1, description="frames of several streams run as one encoder batch (1 = off); "
        "both backends: the local model thread and each Ray model actor"
    )
    max_wait_ms: float = Field(5.0, ge=0, description="longest wait to fill a batch")
    tensorrt: TensorrtConfig = TensorrtConfig()


class MetricsConfig(_Schema):
    """Per-stream stats (fps in/out, drops, reconnects, latency p50/p99) rewritten to a file."""

    path: Path | None = Field(
        None, description="*.json, or *.prom (Prometheus text format); None = no metrics file"
    )
    every_s: float = Field(5.0, gt=0, description="seconds between rewrites")

    @field_validator("path")
    @classmethod
    def _known_format(cls, path: Path | None) -> Path | None:
        if path is not None and path.suffix not in (".json", ".prom"):
            raise ValueError(f"metrics.path must end in .json or .prom, got '{path.name}'")
        return path


#: ``ray:`` keys that moved to ``model:`` (read from there, with a deprecation warning).
MOVED_TO_MODEL = ("max_batch", "max_wait_ms")


class RayConfig(_Schema):
    """The Ray backend (``streamcd run --backend ray``); ignored by the local backend."""

    model_actors: int = Field(1, ge=1, description="model actors; streams are spread over them")
    num_gpus: float | None = Field(
        None, ge=0, description="GPUs per model actor; None = 1 when the cluster has GPUs, else 0"
    )
    model_cpus: float = Field(1.0, gt=0, description="CPUs reserved per model actor")
    stream_cpus: float = Field(0.25, gt=0, description="CPUs reserved per stream actor")
    max_restarts: int = Field(3, ge=0, description="restarts of a dead actor before giving up")
    placement_timeout_s: float = Field(
        60.0, gt=0, description="an actor not started by then is reported as not placed"
    )
    local_num_cpus: int | None = Field(
        None, ge=1, description="CPUs of the local Ray instance (no --address); None = all"
    )
    local_object_store_mb: int = Field(
        512, ge=80, description="object store of the local Ray instance, MiB"
    )


class StreamConfig(_Schema):
    """One input stream with its own background, postprocess and sinks."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    source: SourceConfig
    background: BackgroundConfig = BackgroundConfig()
    postprocess: PostprocessConfig = PostprocessConfig()
    sinks: list[SinkConfig] = Field(default_factory=list)
    max_side: int | None = Field(
        None, ge=16, description="longest side the model sees: larger frames are downscaled for "
        "inference and the change map scaled back (None = full resolution)"
    )
    min_side: int | None = Field(
        TRAINING_SIDE, ge=16, description="frames whose longer side is shorter are upscaled to it "
        "for inference (the scale the shipped networks learnt at; never above max_side); None = never "
        "upscaled"
    )


class PipelineConfig(_Schema):
    """A whole ``streamcd run`` file."""

    model: ModelConfig = ModelConfig()
    streams: list[StreamConfig] = Field(min_length=1)
    stats_every_s: float = Field(10.0, gt=0, description="period of the stats line of live streams")
    metrics: MetricsConfig = MetricsConfig()
    ray: RayConfig = RayConfig()

    @model_validator(mode="before")
    @classmethod
    def _batching_moved_to_model(cls, data: object) -> object:
        """``ray.max_batch`` / ``ray.max_wait_ms`` (older YAML) become ``model.*``, which both
        backends read; a value given in both places must agree."""
        if not isinstance(data, dict) or not isinstance(data.get("ray"), dict):
            return data
        ray, model = data["ray"], data.get("model", {})
        moved = {key: ray[key] for key in MOVED_TO_MODEL if key in ray}
        if not moved or not isinstance(model, dict):
            return data
        if any(key in model and model[key] != value for key, value in moved.items()):
            return data  # left for _no_batching_under_ray, whose error points at `ray:`
        for key, value in moved.items():
            log.warning("ray.%s is deprecated: both backends batch with model.%s now; move the "
                        "value there (read as model.%s: %s)", key, key, key, value)
        return {**data, "model": {**model, **moved},
                "ray": {k: v for k, v in ray.items() if k not in moved}}

    @field_validator("ray", mode="before")
    @classmethod
    def _no_batching_under_ray(cls, ray: object, info: ValidationInfo) -> object:
        model = info.data.get("model")
        for key in MOVED_TO_MODEL:
            if (isinstance(ray, dict) and key in ray and model is not None
                    and key in model.model_fields_set and ray[key] != getattr(model, key)):
                raise ValueError(
                    f"ray.{key} ({ray[key]}) and model.{key} ({getattr(model, key)}) disagree; "
                    f"both backends batch with model.{key} now: remove ray.{key}")
        return ray

    @field_validator("streams")
    @classmethod
    def _unique_names(cls, streams: list[StreamConfig]) -> list[StreamConfig]:
        # A field validator, so that the error points at the `streams:` line, not the file's top.
        names = [s.name for s in streams]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"stream names must be unique; repeated: {', '.join(dupes)}")
        return streams

    @field_validator("streams")
    @classmethod
    def _one_sink_per_output(cls, streams: list[StreamConfig]) -> list[StreamConfig]:
        # Two sinks on one file or CDnet folder would interleave or overwrite each other's output.
        first: dict[Path, str] = {}
        clashes = []
        for i, stream in enumerate(streams):
            for j, sink in enumerate(stream.sinks):
                output = sink.dir if sink.type == "cdnet" else sink.path
                key = "dir" if sink.type == "cdnet" else "path"
                where = f"streams[{i}].sinks[{j}] (stream {stream.name}, {sink.type} {key} {output})"
                resolved = _resolved(output)
                if resolved in first:
                    clashes.append(f"{first[resolved]} and {where} both write {resolved}")
                else:
                    first[resolved] = where
        if clashes:
            raise ValueError("; ".join(clashes) + "; give each sink its own output path")
        return streams

    @classmethod
    def from_yaml(cls, path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> PipelineConfig:
        """Read and validate a YAML file; ``overrides`` are ``key.path=value`` strings (``--set``)."""
        return load_validated(cls, Path(path), overrides)


def _resolved(path: Path) -> Path:
    """``path`` made absolute from the working directory, symbolic links followed."""
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError):  # a symlink loop: compare it as written
        return Path(path).absolute()
