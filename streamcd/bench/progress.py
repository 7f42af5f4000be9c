"""Console progress of ``streamcd bench cdnet`` (the CLI's; the library only calls the hooks)."""

from __future__ import annotations

from tqdm import tqdm

from .suite import BenchObserver


class BenchBars(BenchObserver):
    """One bar over the runs (method x video), one over the frames of the current run."""

    def __init__(self) -> None:
        self.runs: tqdm | None = None
        self.frames: tqdm | None = None

    def on_start(self, runs: int, frames: int) -> None:
        self.runs = tqdm(total=runs, desc="runs", unit="run", position=0, dynamic_ncols=True)

    def on_run(self, method: str, video: str, frames: int) -> None:
        if self.frames is not None:
            self.frames.close()
            self.runs.update(1)
        self.frames = tqdm(total=frames, desc=f"{method} {video}", unit="frame", position=1,
                           leave=False, dynamic_ncols=True)

    def on_frames(self, count: int) -> None:
        if self.frames is not None:
            self.frames.update(count)

    def on_skip(self, method: str, reason: str) -> None:
        tqdm.write(f"skipping {method}: {reason}")

    def close(self) -> None:
        if self.frames is not None:
            self.frames.close()
            self.runs.update(1)
        if self.runs is not None:
            self.runs.close()
