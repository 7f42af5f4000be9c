"""PNG plots of a bench run (matplotlib, Agg backend; imported only here).

- ``f_by_category.png``: F per category, one bar per method;
- ``f_vs_fps.png``: overall F against end-to-end fps, one point per method;
- ``pr_curve.png``: the model's precision-recall over thresholds on validation frames, the
  model card's threshold and the best validation threshold marked;
- ``samples_<category>_<video>.png``: input | groundtruth | each method, for the worst and best
  videos of the first method.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np

from ..errors import PlotDependencyError
from .evaluate import RESULT_NAME, read_groundtruth
from .suite import BenchResult

log = logging.getLogger(__name__)


def _pyplot():
    try:
        import matplotlib
    except ImportError as e:
        raise PlotDependencyError(
            "the bench report's plots need matplotlib: pip install 'streamcd[bench]' "
            "(or run with --no-plots)"
        ) from e
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def write_plots(result: BenchResult, folder: Path, samples: int = 1) -> list[Path]:
    """All plots into ``folder``; returns their paths."""
    plt = _pyplot()
    folder.mkdir(parents=True, exist_ok=True)
    paths = [_f_by_category(plt, result, folder / "f_by_category.png"),
             _f_vs_fps(plt, result, folder / "f_vs_fps.png")]
    if result.pr_curve is not None:
        paths.append(_pr_curve(plt, result, folder / "pr_curve.png"))
    paths += _samples(plt, result, folder, samples)
    return paths


def _f_by_category(plt, result: BenchResult, path: Path) -> Path:
    methods = result.methods
    categories = sorted({v.category for v in result.videos})
    width = 0.8 / max(len(methods), 1)
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(categories) + 2), 4))
    x = np.arange(len(categories))
    for i, method in enumerate(methods):
        by_cat = {c.category: c.metrics.f_measure for c in result.report(method).categories}
        ax.bar(x + i * width - 0.4 + width / 2,
               [_zero_nan(by_cat.get(c)) for c in categories], width, label=method)
    ax.set_xticks(x, categories, rotation=20)
    ax.set_ylim(0, 1)
    ax.set_ylabel("F-measure")
    ax.set_title(f"F per category ({result.options.score_frames} frames)")
    ax.legend(fontsize=8, ncols=min(len(methods), 4))
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _f_vs_fps(plt, result: BenchResult, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6, 4))
    for method in result.methods:
        fps = result.speed(method)["fps"] or 0.0
        f = _zero_nan(result.report(method).overall.f_measure)
        ax.scatter([fps], [f], s=40)
        ax.annotate(method, (fps, f), textcoords="offset points", xytext=(5, 4), fontsize=9)
    ax.set_xscale("log")
    ax.set_xlabel("end-to-end fps (decode + method + write), log scale")
    ax.set_ylabel("overall F-measure")
    ax.set_ylim(0, 1)
    ax.set_title("accuracy vs speed")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _pr_curve(plt, result: BenchResult, path: Path) -> Path:
    curve = result.pr_curve
    fig, ax = plt.subplots(figsize=(5, 5))
    recall = np.array(curve.recall, float)
    precision = np.array(curve.precision, float)
    ax.plot(recall, precision, label="streamcd (validation frames)")
    card, best = curve.at(curve.card_threshold), curve.best
    ax.scatter([card.recall], [card.precision], color="red", zorder=3,
               label=f"model card t={card.threshold:.2f} (F {card.f_measure:.3f})")
    ax.scatter([best.recall], [best.precision], color="green", marker="x", zorder=3,
               label=f"best on validation t={best.threshold:.2f} (F {best.f_measure:.3f})")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title("model precision-recall over thresholds")
    ax.legend(fontsize=8, loc="lower left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _samples(plt, result: BenchResult, folder: Path, count: int) -> list[Path]:
    """Sample frames of the ``count`` worst and ``count`` best videos of the first method."""
    import cv2

    methods = result.methods
    if not methods or count < 1:
        return []
    ranked = sorted((r for r in result.runs if r.method == methods[0]),
                    key=lambda r: _zero_nan(r.score.metrics.f_measure))
    chosen = ranked[:count] + [r for r in ranked[-count:] if r not in ranked[:count]]
    paths = []
    for run in chosen:
        video = run.video
        number = _busiest_frame(video, run.score.frames)
        panels = [("input", cv2.cvtColor(cv2.imread(str(video.input_path(number))),
                                         cv2.COLOR_BGR2RGB)),
                  ("groundtruth", read_groundtruth(video.groundtruth_path(number)))]
        for method in methods:
            mask = cv2.imread(str(result.results_dir(method) / video.category / video.name
                                  / RESULT_NAME.format(number)), cv2.IMREAD_GRAYSCALE)
            f = next(r.score.metrics.f_measure for r in result.runs
                     if r.method == method and r.video.key == video.key)
            panels.append((f"{method} (video F {_zero_nan(f):.2f})", mask))
        fig, axes = plt.subplots(1, len(panels), figsize=(2.6 * len(panels), 2.4))
        for ax, (title, image) in zip(np.atleast_1d(axes), panels):
            ax.imshow(image, cmap=None if image is not None and image.ndim == 3 else "gray",
                      vmin=0, vmax=255)
            ax.set_title(title, fontsize=8)
            ax.axis("off")
        fig.suptitle(f"{video.key} frame {number}", fontsize=9)
        fig.tight_layout()
        path = folder / f"samples_{video.category}_{video.name}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        paths.append(path)
    return paths


def _busiest_frame(video, frames: tuple[int, int], probes: int = 25) -> int:
    """The scored frame (of ``probes`` evenly spread) with the most motion in its groundtruth."""
    numbers = np.unique(np.linspace(frames[0], frames[1], probes).round().astype(int))
    counts = [int(np.count_nonzero(read_groundtruth(video.groundtruth_path(int(n))) == 255))
              for n in numbers]
    return int(numbers[int(np.argmax(counts))])


def _zero_nan(v: float | None) -> float:
    return 0.0 if v is None or math.isnan(v) else float(v)
