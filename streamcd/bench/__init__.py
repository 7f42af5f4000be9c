"""CDnet 2014 benchmark: the official scoring rules, results-folder evaluation, classic baselines.

- :mod:`.scoring`: pixel rules and metrics (pure numpy).
- :mod:`.evaluate`: score ``RESULTS/<category>/<video>/bin%06d.png`` folders into a Report.
- :mod:`.baselines`: classic subtractors by name (OpenCV mog2, knn, gsoc, cnt; bgslibrary
  subsense, lobster, pawcs when ``pybgs`` is installed), written CDnet-style.
- :mod:`.runner`: one method on one video with per-stage timing (one method interface for the
  model and the baselines); :mod:`.worker`: a call in a fresh spawned process.
- :mod:`.jobs`: one (method, video) job into a result folder with a completion marker;
  :mod:`.pool` runs jobs N at a time, :mod:`.ray_pool` as Ray tasks.
- :mod:`.suite`, :mod:`.report`, :mod:`.plots`: ``streamcd bench cdnet`` and its report;
  :mod:`.ranking`: the changedetection.net view (average ranking); :mod:`.upload`: the upload
  zip and its layout check.
- :mod:`.prcurve`: the model's precision-recall over thresholds on validation frames.
- :mod:`.ucsd`: the UCSD videos converted to the CDnet layout.
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
