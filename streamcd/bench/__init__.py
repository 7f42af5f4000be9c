"""CDnet 2014 benchmark: the official scoring rules, results-folder evaluation, classic baselines.

- :mod:`.scoring`: pixel rules and metrics (pure numpy).
- :mod:`.evaluate`: score ``RESULTS/<category>/<video>/bin%06d.png`` folders into a Report.
- :mod:`.baselines`: OpenCV subtractors by name (mog2, knn, gsoc, cnt), written CDnet-style.
"""

from __future__ import annotations

from .baselines import baseline_names, register_baseline, run_baseline
from .evaluate import CategoryScore, Report, VideoScore, score_results, score_video
from .scoring import Confusion, Metrics, confusion_of

__all__ = [
    "CategoryScore",
    "Confusion",
    "Metrics",
    "Report",
    "VideoScore",
    "baseline_names",
    "confusion_of",
    "register_baseline",
    "run_baseline",
    "score_results",
    "score_video",
]
