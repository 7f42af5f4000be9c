"""The run loop's timing arithmetic (a fake clock) and the one method interface (real methods)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from streamcd.bench.runner import (
    COMPUTE_STAGES,
    MethodRun,
    RunSpec,
    StageClock,
    make_method,
    run_frames,
    run_method,
)
from streamcd.frames import Frame
from tests.conftest import square_frames, write_clip

DECODE_S, BACKGROUND_S, INFERENCE_S, POSTPROCESS_S = 0.003, 0.011, 0.005, 0.002


class FakeTime:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


class HoldingMethod:
    """Holds the first ``hold`` frames (as the model does while it collects its background) and
    spends known fake seconds per frame on each compute stage, on its own clock."""

    provider = None

    def __init__(self, time: FakeTime, hold: int) -> None:
        self.time, self.hold = time, hold
        self.clock = StageClock(COMPUTE_STAGES, time)
        self.held: list[Frame] = []

    def _mask(self, frame: Frame) -> tuple[Frame, np.ndarray]:
        for stage, seconds in (("background", BACKGROUND_S), ("inference", INFERENCE_S),
                               ("postprocess", POSTPROCESS_S)):
            with self.clock.stage(stage):
                self.time.advance(seconds)
        return frame, np.full((8, 8), 255 * (frame.number % 2), np.uint8)

    def feed(self, frame: Frame):
        if len(self.held) < self.hold:
            self.held.append(frame)
            return []
        out = [self._mask(f) for f in self.held] + [self._mask(frame)]
        self.held = []
        return out

    def flush(self):
        out = [self._mask(f) for f in self.held]
        self.held = []
        return out

    def compute_seconds(self):
        return dict(self.clock.seconds)

    def close(self):
        pass


def fake_frames(time: FakeTime, count: int):
    for n in range(1, count + 1):
        time.advance(DECODE_S)
        yield Frame(n - 1, n, n / 25, np.zeros((8, 8, 3), np.uint8))


@pytest.mark.parametrize(("count", "hold"), [
    (10, 0),    # every frame out at once
    (10, 4),    # the first frames held, then released together
    (3, 5),     # more held than frames: all come out of flush()
])
def test_each_stage_is_counted_once_and_the_parts_add_up_to_the_wall(tmp_path, count, hold):
    time = FakeTime()
    method = HoldingMethod(time, hold)
    spec = RunSpec("fake", tmp_path / "src", tmp_path / "out")
    run = run_frames(method, fake_frames(time, count), spec, now=time)
    s = run.seconds
    assert run.frames == count
    assert s.decode == pytest.approx(count * DECODE_S)
    assert (s.background, s.inference, s.postprocess) == pytest.approx(
        (count * BACKGROUND_S, count * INFERENCE_S, count * POSTPROCESS_S))
    assert s.write == 0  # the fake clock does not move while PNGs are written
    assert run.wall_s == pytest.approx(s.decode + s.compute + s.write)
    ms = run.ms_per_frame()
    assert ms["compute"] == pytest.approx(1000 * (BACKGROUND_S + INFERENCE_S + POSTPROCESS_S))
    assert ms["total"] == pytest.approx(1000 * run.wall_s / count)
    assert run.fps == pytest.approx(count / run.wall_s)
    names = sorted(p.name for p in (tmp_path / "out").glob("bin*.png"))
    assert names == [f"bin{n:06d}.png" for n in range(1, count + 1)]
    assert cv2.imread(str(tmp_path / "out" / "bin000001.png"), 0).max() == 255


def test_method_run_survives_its_dict(tmp_path):
    time = FakeTime()
    run = run_frames(HoldingMethod(time, 2), fake_frames(time, 5),
                     RunSpec("fake", tmp_path, tmp_path / "out"), now=time)
    assert MethodRun.from_dict(run.to_dict()) == run


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    frames, _ = square_frames(30, size=(320, 240))
    return write_clip(tmp_path_factory.mktemp("clip") / "square.mp4", frames)


@pytest.mark.parametrize("method", ["streamcd", "mog2"])
def test_real_methods_share_the_interface_and_their_stages_fit_in_the_wall(clip, tmp_path,
                                                                            method):
    """The model holds its first frames for the median background; every stage of it is on
    one clock, so decode + compute + write never exceeds the wall time."""
    spec = RunSpec(method, clip, tmp_path / method, threads=1)
    instance = make_method(spec)
    assert {"background", "inference", "postprocess"} == set(instance.compute_seconds())
    instance.close()
    run = run_method(spec)
    s = run.seconds
    assert run.frames == 30
    assert s.decode > 0 and s.background > 0 and s.postprocess > 0 and s.write > 0
    assert (s.inference > 0) == (method == "streamcd")
    assert s.decode + s.compute + s.write <= run.wall_s


@pytest.mark.parametrize("method", [
    # KNN draws from OpenCV's RNG: a second run in the same process (a reused Ray worker, an
    # --in-process bench) used to continue the first one's random sequence and differ.
    "knn",
    # The model's feature bank updates random samples: it used an unseeded generator, so
    # every run of the same video gave other masks.
    "streamcd",
    # GSOC draws from one OpenCV RNG per worker thread: with several threads, masks depended on
    # thread scheduling (runs once on one thread).
    "gsoc",
    # SuBSENSE draws from libc's rand(): a second run continued the first one's sequence.
    "subsense",
])
def test_masks_do_not_depend_on_earlier_runs_in_the_process(clip, tmp_path, method):
    if method == "subsense":
        pytest.importorskip("pybgs", reason="SuBSENSE needs bgslibrary: pip install '.[bench]'")
    for name in ("first", "second"):
        run_method(RunSpec(method, clip, tmp_path / name, threads=1))
    for n in range(1, 31):
        first, second = (cv2.imread(str(tmp_path / d / f"bin{n:06d}.png"), 0)
                         for d in ("first", "second"))
        assert np.array_equal(first, second), f"frame {n} differs"
