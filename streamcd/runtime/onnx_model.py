"""The shipped change model on ONNX Runtime: encoder and head sessions plus the model card, and
the head alone (a stream's feature bank where the encoder runs elsewhere)."""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..config import TEMPORAL_MEAN_MAX, ModelConfig, TensorrtConfig
from ..errors import ModelError, StreamcdError
from .assets import not_a_card, resolve_card
from .bank_compare import BankComparer
from .base import Features
from .binding import BoundSession, DeviceFeatures, binding_device, feature_shapes, on_host
from .providers import check_provider, import_ort, session_providers

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelCard:
    """The machine-readable model card written by ``streamcd export``."""

    path: Path
    name: str
    encoder: Path
    head: Path
    threshold: float
    multiple: int
    stride: int
    raw: dict[str, Any]
    temporal_mean: int = 1  # frames whose distance maps are averaged (postprocess default)
    bank_threshold: float | None = None  # base threshold with the feature bank (None: threshold)
    shadows: Path | None = None  # the shadow network (streamcd train-shadows), if the card names one

    @classmethod
    def read(cls, path: Path) -> ModelCard:
        try:
            raw = json.loads(path.read_text())
            card = cls(
                path=path,
                name=raw["name"],
                encoder=path.parent / raw["encoder"],
                head=path.parent / raw["head"],
                threshold=float(raw["threshold"]),
                multiple=int(raw["input"]["multiple"]),
                stride=int(raw["output"]["stride"]),
                raw=raw,
                temporal_mean=int(raw.get("temporal_mean", 1)),
                bank_threshold=(float(raw["bank_threshold"]) if raw.get("bank_threshold") is not None
                                else None),
                shadows=path.parent / raw["shadows"] if raw.get("shadows") else None,
            )
        except UnicodeDecodeError as e:  # binary: a graph or checkpoint given as the card
            raise ModelError(not_a_card(path)) from e
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ModelError(f"{path}: not a valid streamcd model card ({type(e).__name__}: {e})") from e
        if not 1 <= card.temporal_mean <= TEMPORAL_MEAN_MAX:
            raise ModelError(
                f"{path}: temporal_mean {card.temporal_mean} is not in 1..{TEMPORAL_MEAN_MAX}")
        for graph in (card.encoder, card.head, card.shadows):
            if graph is not None and not graph.exists():
                raise ModelError(f"{path}: model file {graph.name} is missing next to the card")
        return card


def cpu_session(graph: bytes | Path, threads: int, what: str):
    """An ONNX Runtime CPU session of one graph, a path or its bytes (``what`` names it in the
    error: "the <what> graph received" for bytes). Raises ModelError when it cannot load."""
    ort = import_ort()
    try:
        return ort.InferenceSession(graph if isinstance(graph, bytes) else str(graph),
                                    session_options(threads), providers=["CPUExecutionProvider"])
    except Exception as e:  # ORT raises its own untyped errors for corrupt graphs
        where = f"the {what} graph received" if isinstance(graph, bytes) else str(graph)
        raise ModelError(f"ONNX Runtime cannot load {where}: {e}") from e


def given_shadows(graph: Path | None) -> Path | None:
    """A shadow network given with ``--shadows``, checked before any work is done (None stays
    None). Raises StreamcdError when the file is missing."""
    if graph is not None and not graph.is_file():
        raise StreamcdError(f"--shadows {graph}: no such file (write one with 'streamcd train-shadows')")
    return graph


def shadows_entry(graph: Path | None, out: Path) -> dict[str, str]:
    """The card entry naming shadow network ``graph`` for a card written in ``out``: the graph
    is copied there as ``shadows.onnx`` (unless it is that file). ``{}`` without one."""
    if graph is None:
        return {}
    target = out / "shadows.onnx"
    if graph.resolve() != target.resolve():
        shutil.copyfile(graph, target)
    return {"shadows": target.name}


def default_threads() -> int:
    """Intra-op threads when the config says none: the usable cores, at most 4.

    Measured on 2 shared cores at 320x240 (docs/experiments.md, Performance): 2 threads gave 1.03-1.2x
    the pipeline fps of 1; the model is too small to gain from many threads (more than 4 is
    not measured).
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(4, cores))


def session_options(threads: int | None = None):
    """ONNX Runtime CPU session options for the change model (one session per graph).

    All graph optimisations (the NCHWc conv layout: 1.5x faster than ``extended`` here);
    sequential execution (the graphs are chains); the memory arena on (10 % slower off); idle
    workers sleep instead of spinning: they share the cores with decode and sinks, and spinning
    made the 2-thread pipeline 3.5x slower on a busy 2-core machine.
    """
    ort = import_ort()
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.enable_cpu_mem_arena = True
    options.intra_op_num_threads = threads or default_threads()
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return options


class OnnxChangeModel:
    """Encoder + head ONNX sessions on the best (or the requested) execution provider.

    With ``io_binding`` (default on CUDA/TensorRT) the reference features stay on the GPU and
    each frame's features go from encoder to head without leaving it. Usually made with
    :meth:`load` or :meth:`from_config`.

    Args:
        card: the model card (graphs, threshold, input multiple, output stride).
        provider: ``auto`` (best available), ``cuda``, ``tensorrt`` or ``cpu``.
        threads: CPU intra-op threads (None: the usable cores, at most 4).
        device_id: GPU index for cuda / tensorrt.
        io_binding: keep features on the session's device (None: on for GPU providers).
        tensorrt: TensorRT options (engine cache, fp16).

    Raises:
        ModelError: ONNX Runtime cannot load a graph.
        ProviderError: the requested provider is not available.

    Example::

        import numpy as np
        from streamcd.runtime.onnx_model import OnnxChangeModel

        model = OnnxChangeModel.load(None, provider="cpu")        # shipped default model
        background = np.zeros((240, 320, 3), np.uint8)            # sides: multiples of model.multiple
        frames = np.full((2, 240, 320, 3), 255, np.uint8)
        ref = model.encode_reference(background[None])            # once per background update
        dist = model.distance(ref, frames)                        # (2, 120, 160) float32
        changed = dist > model.threshold
    """

    def __init__(self, card: ModelCard, provider: str = "auto", threads: int | None = None, *,
                 device_id: int = 0, io_binding: bool | None = None,
                 tensorrt: TensorrtConfig | None = None):
        ort = import_ort()
        options = session_options(threads)
        providers = session_providers(provider, device_id, tensorrt)
        try:
            self._encoder = ort.InferenceSession(str(card.encoder), options, providers=providers)
            self._head = ort.InferenceSession(str(card.head), options, providers=providers)
        except Exception as e:  # ORT raises its own untyped errors for corrupt files
            raise ModelError(f"{card.path}: ONNX Runtime cannot load the model: {e}") from e
        self.card = card
        self.provider = check_provider(provider, self._encoder.get_providers())
        check_provider(provider, self._head.get_providers())
        self.threads = options.intra_op_num_threads
        self.threshold = card.threshold
        self.temporal_mean = card.temporal_mean
        self.bank_threshold = card.bank_threshold
        self.shadows = card.shadows  # the shadow network's graph, or None
        self.multiple = card.multiple
        self.stride = card.stride
        self._enc_in = self._encoder.get_inputs()[0].name
        self._head_in = [i.name for i in self._head.get_inputs()]
        self._bank_compare = BankComparer(self._head, self._head_in, allow_numpy=self.provider == "cpu")
        self.io_binding = binding_device(self.provider) != "cpu" if io_binding is None else io_binding
        self._bound: tuple[BoundSession, BoundSession] | None = None
        if self.io_binding:
            device = binding_device(self.provider)
            self._bound = (BoundSession(self._encoder, device, device_id),
                           BoundSession(self._head, device, device_id))
        log.info("model %s on %s, %d CPU thread(s), IO binding %s (threshold %.3f)", card.name,
                 self.provider, self.threads, "on" if self.io_binding else "off", self.threshold)

    @classmethod
    def load(cls, path: str | Path | None = None, name: str = "default", provider: str = "auto",
             threads: int | None = None, **options: Any) -> OnnxChangeModel:
        """Load a model card: a file, a folder holding one, or the shipped model ``name`` when
        ``path`` is None (``default``, ``accurate``, ``default-int8``, ``default-fp16``).

        ``options``: ``device_id``, ``io_binding``, ``tensorrt`` (see the class docstring).
        Raises ModelError (no such card, a broken card or graph) or ProviderError.
        """
        return cls(ModelCard.read(resolve_card(path, name)), provider, threads, **options)

    @classmethod
    def from_config(cls, config: ModelConfig) -> OnnxChangeModel:
        """The model a pipeline's ``model:`` section describes."""
        return cls.load(config.path, config.name, config.provider, config.threads,
                        device_id=config.device_id, io_binding=config.io_binding,
                        tensorrt=config.tensorrt)

    def encode(self, images: np.ndarray) -> Features:
        """NHWC (or HWC) uint8 BGR -> feature maps; sides must be multiples of ``multiple``."""
        images = self._checked(images)
        if self._bound is not None:
            return tuple(self._bound[0].run([images]))
        return tuple(self._encoder.run(None, {self._enc_in: images}))

    def encode_reference(self, images: np.ndarray) -> Features | DeviceFeatures:
        """Features to compare against many times: kept on the device with IO binding."""
        if self._bound is None:
            return self.encode(images)
        return DeviceFeatures(tuple(self._bound[0].run([self._checked(images)], on_device=True)))

    def to_device(self, features: Features | DeviceFeatures) -> Features | DeviceFeatures:
        """Host features uploaded once to the device (as is without IO binding)."""
        if self._bound is None or isinstance(features, DeviceFeatures):
            return features
        return DeviceFeatures(tuple(self._bound[1].upload(f) for f in features))

    def distance(self, reference: Features | DeviceFeatures, images: np.ndarray) -> np.ndarray:
        """``compare(reference, encode(images))``; the frames' features stay on the device."""
        if self._bound is None:
            return self.compare(reference, self.encode(images))
        query = DeviceFeatures(tuple(self._bound[0].run([self._checked(images)], on_device=True)))
        return self.compare(reference, query)

    def compare(self, reference: Features | DeviceFeatures,
                query: Features | DeviceFeatures) -> np.ndarray:
        """Distance maps (N, H/stride, W/stride) float32 between reference and query features."""
        ref_shapes, query_shapes = feature_shapes(reference), feature_shapes(query)
        n = query_shapes[0][0]
        if len(ref_shapes) != len(query_shapes) or any(
            r[0] not in (1, n) or r[1:] != q[1:] for r, q in zip(ref_shapes, query_shapes)
        ):
            raise ModelError(
                "compare needs reference and query features of the same image size, and a "
                f"reference batch of 1 or {n}; got {list(ref_shapes)} and {list(query_shapes)}"
            )
        if ref_shapes[0][0] != n:  # one reference for a batch of frames
            reference = tuple(np.repeat(r, n, axis=0) for r in on_host(reference))
        if self._bound is not None:
            inputs = [*_values(reference), *_values(query)]
            return self._bound[1].run(inputs)[0][:, 0]
        feeds = dict(zip(self._head_in, (*on_host(reference), *on_host(query))))
        return self._head.run(None, feeds)[0][:, 0]

    def compare_bank(self, samples: Features, query: Features) -> np.ndarray:
        """Distance maps (samples, H/stride, W/stride) of one frame's features to each bank sample.

        ``samples``: per side (samples, C, h, w) host arrays; ``query``: one frame's features
        (batch 1). The head broadcasts the frame over the samples: one run for the whole bank
        (on CPU the same arithmetic in numpy once it agrees with the graph:
        :mod:`.bank_compare`). Safe from several stream threads at once.
        """
        return self._bank_compare(samples, on_host(query))

    def _checked(self, images: np.ndarray) -> np.ndarray:
        if images.ndim == 3:
            images = images[None]
        if images.dtype != np.uint8 or images.shape[-1] != 3:
            raise ModelError(f"encode expects uint8 BGR images (N,H,W,3), got {images.dtype} {images.shape}")
        h, w = images.shape[1:3]
        if h % self.multiple or w % self.multiple:
            raise ModelError(f"image sides must be multiples of {self.multiple}, got {w}x{h}")
        return np.ascontiguousarray(images)


class OnnxHead:
    """A model card's head alone, on CPU: what a stream needs to compare its frames' features
    (encoded elsewhere, e.g. by a Ray model actor) with its feature bank.

    Args:
        graph: the head graph, a path or the ONNX bytes (``ModelInfo.head``).
        threads: CPU intra-op threads.

    Example::

        head = OnnxHead(card.head)
        dist = head.compare_bank(bank_samples, model.encode(frame))   # (samples, H/2, W/2)
    """

    def __init__(self, graph: bytes | Path, threads: int = 1) -> None:
        self._head = cpu_session(graph, threads, "head")
        self._bank_compare = BankComparer(self._head, [i.name for i in self._head.get_inputs()])

    def compare_bank(self, samples: Features, query: Features) -> np.ndarray:
        """As :meth:`OnnxChangeModel.compare_bank`."""
        return self._bank_compare(samples, query)


def _values(features: Features | DeviceFeatures) -> tuple:
    return features.values if isinstance(features, DeviceFeatures) else features
