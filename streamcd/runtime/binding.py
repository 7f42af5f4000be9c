"""ONNX Runtime IO binding: inputs and outputs placed on the session's device, not copied per run.

On CUDA/TensorRT a plain ``session.run`` copies every input to the GPU and every output back.
Bound, the encoder's features stay on the GPU as ``OrtValue``s: the reference background is
uploaded once per background version and each frame's features go straight into the head, so
only the frame and the distance map cross the bus. On CPU the same code runs with device
``cpu`` (no copies at all), which is how it is tested. Usage::

    encoder = BoundSession(session, "cuda")
    features = DeviceFeatures(encoder.run([images], on_device=True))
    distance = head.run([*reference.values, *features.values])[0]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .base import Features
from .providers import import_ort


def binding_device(provider: str) -> str:
    """The OrtValue device of a session running on ``provider`` (short name)."""
    return "cuda" if provider in ("cuda", "tensorrt") else "cpu"


@dataclass(frozen=True)
class DeviceFeatures:
    """Feature maps held by ONNX Runtime on the session's device (one ``OrtValue`` per side).

    What ``OnnxChangeModel.encode_reference`` returns with IO binding; pass it back to
    ``compare`` / ``distance``; ``numpy()`` copies it to the host.
    """

    values: tuple[Any, ...]  # onnxruntime.OrtValue

    @property
    def shapes(self) -> tuple[tuple[int, ...], ...]:
        return tuple(tuple(v.shape()) for v in self.values)

    @property
    def batch(self) -> int:
        return self.shapes[0][0]

    @property
    def device(self) -> str:
        return self.values[0].device_name().lower()

    def numpy(self) -> Features:
        return tuple(v.numpy() for v in self.values)


def feature_shapes(features: Features | DeviceFeatures) -> tuple[tuple[int, ...], ...]:
    if isinstance(features, DeviceFeatures):
        return features.shapes
    return tuple(f.shape for f in features)


def on_host(features: Features | DeviceFeatures) -> Features:
    return features.numpy() if isinstance(features, DeviceFeatures) else features


class BoundSession:
    """Runs one ``InferenceSession`` through IO binding on ``device`` (``cpu`` or ``cuda``).

    A new binding per run: bindings are not thread-safe, sessions are (streams share them).
    """

    def __init__(self, session, device: str = "cpu", device_id: int = 0) -> None:
        self.session = session
        self.device = device
        self.device_id = device_id
        self.inputs = [i.name for i in session.get_inputs()]
        self.outputs = [o.name for o in session.get_outputs()]
        self._ort = import_ort()

    def upload(self, array: np.ndarray):
        """A host array as an ``OrtValue`` on this session's device."""
        return self._ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(array), self.device,
                                                      self.device_id)

    def run(self, inputs: Sequence[Any], on_device: bool = False) -> list:
        """Outputs for ``inputs`` (host arrays or OrtValues, in input order).

        ``on_device``: OrtValues left on the device; otherwise host arrays.
        """
        binding = self.session.io_binding()
        for name, value in zip(self.inputs, inputs):
            if isinstance(value, np.ndarray):  # the binding keeps a reference to the array
                binding.bind_cpu_input(name, np.ascontiguousarray(value))
            else:
                binding.bind_ortvalue_input(name, value)
        for name in self.outputs:
            binding.bind_output(name, self.device, self.device_id)
        self.session.run_with_iobinding(binding)
        return binding.get_outputs() if on_device else binding.copy_outputs_to_cpu()
