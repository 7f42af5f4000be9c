"""The shipped change model on ONNX Runtime: encoder and head sessions plus the model card."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelError
from .assets import resolve_card
from .base import Features
from .providers import check_provider, import_ort, requested_providers

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
            )
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ModelError(f"{path}: not a valid streamcd model card ({type(e).__name__}: {e})") from e
        for graph in (card.encoder, card.head):
            if not graph.exists():
                raise ModelError(f"{path}: model file {graph.name} is missing next to the card")
        return card


def default_threads() -> int:
    """Intra-op threads when the config says none: the usable cores, at most 4.

    Measured on 2 shared cores at 320x240 (MODEL_CARD.md, Performance): 2 threads gave 1.03-1.2x
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

    Example::

        model = OnnxChangeModel.load(None)                  # shipped default model
        ref = model.encode(background[None])                # once per background update
        dist = model.compare(ref, model.encode(frames))     # (N, H/2, W/2), > threshold = changed
    """

    def __init__(self, card: ModelCard, provider: str = "auto", threads: int | None = None):
        ort = import_ort()
        options = session_options(threads)
        providers = requested_providers(provider)
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
        self.multiple = card.multiple
        self.stride = card.stride
        self._enc_in = self._encoder.get_inputs()[0].name
        self._head_in = [i.name for i in self._head.get_inputs()]
        log.info("model %s on %s, %d CPU thread(s) (threshold %.3f)", card.name, self.provider,
                 self.threads, self.threshold)

    @classmethod
    def load(cls, path: str | Path | None = None, name: str = "default", provider: str = "auto",
             threads: int | None = None) -> OnnxChangeModel:
        """Load a model card (file, folder, or the shipped model ``name`` when path is None)."""
        return cls(ModelCard.read(resolve_card(path, name)), provider, threads)

    def encode(self, images: np.ndarray) -> Features:
        """NHWC (or HWC) uint8 BGR -> feature maps; sides must be multiples of ``multiple``."""
        if images.ndim == 3:
            images = images[None]
        if images.dtype != np.uint8 or images.shape[-1] != 3:
            raise ModelError(f"encode expects uint8 BGR images (N,H,W,3), got {images.dtype} {images.shape}")
        h, w = images.shape[1:3]
        if h % self.multiple or w % self.multiple:
            raise ModelError(f"image sides must be multiples of {self.multiple}, got {w}x{h}")
        return tuple(self._encoder.run(None, {self._enc_in: np.ascontiguousarray(images)}))

    def compare(self, reference: Features, query: Features) -> np.ndarray:
        """Distance maps (N, H/stride, W/stride) float32 between reference and query features."""
        n = query[0].shape[0]
        if len(reference) != len(query) or any(
            r.shape[0] not in (1, n) or r.shape[1:] != q.shape[1:] for r, q in zip(reference, query)
        ):
            raise ModelError(
                "compare needs reference and query features of the same image size, and a "
                f"reference batch of 1 or {n}; got {[r.shape for r in reference]} and "
                f"{[q.shape for q in query]}"
            )
        if reference[0].shape[0] != n:  # one reference for a batch of frames
            reference = tuple(np.repeat(r, n, axis=0) for r in reference)
        feeds = dict(zip(self._head_in, (*reference, *query)))
        return self._head.run(None, feeds)[0][:, 0]
