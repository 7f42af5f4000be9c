"""``report.md`` + ``report.json`` (+ ``plots/*.png``) of a bench run.

The JSON holds every number the markdown shows: per method the official CDnet report
(:meth:`Report.to_dict`), the speed split and the ratios; per run the timings; the PR curve.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

from .gpu import gpu_cell
from .ranking import cdnet_view, view_markdown
from .suite import REFERENCE_METHODS, BenchResult

log = logging.getLogger(__name__)

STAGE_COLUMNS = ("decode", "background", "inference", "postprocess", "write")


def report_dict(result: BenchResult, plots: list[str] | None = None) -> dict:
    methods = result.methods
    return {
        "protocol": {
            "scored_frames": result.options.score_frames,
            "scoring": "CDnet 2014 official rules: per-video confusion summed over the scored "
                       "frames; category = mean of videos; overall = mean of categories",
            "videos": {v.key: {"frames": v.count, "temporal_roi": [v.first, v.last],
                               "heldout": list(v.heldout_range())} for v in result.videos},
        },
        "machine": result.machine,
        "run": run_dict(result),
        "skipped": result.skipped,
        "cdnet_view": cdnet_view(result.reports()).to_dict(),
        "methods": {m: {"scores": result.report(m).to_dict(), "speed": result.speed(m),
                        "compute_time_ratio": result.ratios(m)} for m in methods},
        "runs": [{"video": r.video.key, **r.run.to_dict(),
                  "f_measure": _num(r.score.metrics.f_measure)} for r in result.runs],
        "pr_curve": result.pr_curve.to_dict() if result.pr_curve else None,
        "plots": plots or [],
    }


def run_dict(result: BenchResult) -> dict:
    """How the jobs ran: at once, where, which were reused, how long they took."""
    return {"jobs": result.machine.get("jobs"), "backend": result.machine.get("backend"),
            "jobs_total": len(result.runs), "reused": list(result.reused),
            "wall_s": result.wall_s,
            # on a cluster (--address) the cluster's CPUs, not --jobs, decide what runs at once
            "shared_timings": (result.machine.get("jobs") or 1) > 1 or bool(result.options.address)}


def timing_note(result: BenchResult) -> str:
    """The line of the report that says how far its per-frame timings can be trusted."""
    run = run_dict(result)
    at_once = ("as many at once as the Ray cluster's CPUs allow" if result.options.address
               else f"{run['jobs']} at once")
    head = (f"{run['jobs_total']} job(s) (method x video), {at_once} on the "
            f"{run['backend']} backend, {len(run['reused'])} reused from complete result "
            f"folders; jobs wall time {_f(run['wall_s'], 1)} s.")
    if run["shared_timings"]:
        head += (" **Timings were taken with several jobs sharing the machine**: per-frame "
                 "times and fps are slower than alone; take speed tables from `--jobs 1` or "
                 "`streamcd bench speed`.")
    if run["reused"]:
        head += " Timings of reused jobs are those of the run that wrote them."
    return head


def _num(v: float | None) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


def _f(v: float | None, digits: int = 4) -> str:
    v = _num(v)
    return "n/a" if v is None else f"{v:.{digits}f}"


def report_markdown(result: BenchResult, plots: list[str] | None = None) -> str:
    methods = result.methods
    categories = sorted({v.category for v in result.videos})
    scope = ("held-out frames (`CdnetVideo.heldout_range()`, never used for training or "
             "threshold choice)" if result.options.score_frames == "heldout"
             else "the whole temporalROI (official CDnet range)")
    m = result.machine
    lines = [
        "# streamcd bench", "",
        (f"{len(result.videos)} video(s) in {len(categories)} categor(ies); every method runs "
        f"each video from frame 1; scored on {scope} with the official CDnet 2014 rules "
        "(category = mean of its videos, overall = mean of categories)."), "",
        (f"Machine: {m.get('cpus')} CPUs, load average {m.get('load_before')} before and "
        f"{m.get('load_after')} after; OpenCV {m.get('opencv')}, ONNX Runtime "
        f"{m.get('onnxruntime', 'n/a')}; started {m.get('started')}."), "",
        timing_note(result), "",
    ]
    for method, reason in result.skipped.items():
        lines.append(f"- **{method} skipped**: {reason}")
    if result.skipped:
        lines.append("")
    refs = [r for r in REFERENCE_METHODS if r in methods]
    lines += ["## Summary", "",
              "| method | F | Pr | Re | PWC | compute ms/frame | end-to-end fps | peak RSS MB | "
              + " | ".join(f"x {r} time" for r in refs) + (" |" if refs else "|"),
              "| --- |" + " ---: |" * (7 + len(refs))]
    for method in methods:
        o, s = result.report(method).overall, result.speed(method)
        ratios = result.ratios(method)
        cells = [_f(o.f_measure), _f(o.precision), _f(o.recall), _f(o.pwc, 3),
                 _f(s["ms_per_frame"]["compute"], 2), _f(s["fps"], 1), _f(s["peak_rss_mb"], 0),
                 *(_f(ratios[r], 2) for r in refs)]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    lines += ["", "## changedetection.net view", "",
              ("The seven metrics per category and overall, and the site's average ranking "
               f"(rank per metric per category, averaged; ties share their mean rank) over the "
               f"{len(methods)} method(s) here, on {scope}."), "",
              view_markdown(cdnet_view(result.reports()))]
    lines += ["", "## F-measure per category", "",
              "| method | " + " | ".join(categories) + " | overall |",
              "| --- |" + " ---: |" * (len(categories) + 1)]
    for method in methods:
        report = result.report(method)
        by_cat = {c.category: c.metrics.f_measure for c in report.categories}
        lines.append(f"| {method} | " + " | ".join(_f(by_cat.get(c)) for c in categories)
                     + f" | {_f(report.overall.f_measure)} |")
    lines += ["", "## F-measure per video", "",
              "| video | scored frames | " + " | ".join(methods) + " |",
              "| --- | --- |" + " ---: |" * len(methods)]
    for video in result.videos:
        scores = {r.method: r.score for r in result.runs if r.video.key == video.key}
        frames = next(iter(scores.values())).frames
        lines.append(f"| {video.key} | {frames[0]}..{frames[1]} | "
                     + " | ".join(_f(scores[m].metrics.f_measure) for m in methods) + " |")
    lines += ["", "## Speed (ms/frame, all frames of all videos pooled)", "",
              "| method | provider | " + " | ".join(STAGE_COLUMNS) + " | compute | fps | "
              "peak RSS MB |", "| --- | --- |" + " ---: |" * (len(STAGE_COLUMNS) + 3)]
    for method in methods:
        s = result.speed(method)
        ms = s["ms_per_frame"]
        lines.append(f"| {method} | {s['provider'] or 'cpu (OpenCV)'} | "
                     + " | ".join(_f(ms[c], 2) for c in STAGE_COLUMNS)
                     + f" | {_f(ms['compute'], 2)} | {_f(s['fps'], 1)} | "
                     f"{_f(s['peak_rss_mb'], 0)} |")
    lines += ["", "Compute = background + inference + postprocess (the method's own work); "
              "fps counts decode and PNG write too. Peak RSS is the worker process's peak "
              "(interpreter and libraries included)." if result.options.isolate else
              "Runs were in-process: peak RSS is the whole process's and not per method."]
    curve = result.pr_curve
    if curve:
        card, best = curve.at(curve.card_threshold), curve.best
        frames = sum(len(v) for v in curve.frames.values())
        lines += ["", "## Model threshold (validation frames only)", "",
                  (f"Precision-recall of `distance > t` (raw, before morphology) on {frames} "
                  f"frames from the training ranges of {len(curve.frames)} video(s); no "
                  "scored frame is used."), "",
                  "| threshold | Pr | Re | F |", "| --- | ---: | ---: | ---: |",
                  (f"| model card {card.threshold:.3f} | {_f(card.precision)} | "
                  f"{_f(card.recall)} | {_f(card.f_measure)} |"),
                  (f"| best F on validation {best.threshold:.3f} | {_f(best.precision)} | "
                  f"{_f(best.recall)} | {_f(best.f_measure)} |")]
    if plots:
        lines += ["", "## Plots", ""]
        lines += [f"![{Path(p).stem}]({p})" for p in plots]
    return "\n".join(lines) + "\n"


def write_report(result: BenchResult, out: Path | None = None) -> list[Path]:
    """Write report.md, report.json and (when enabled and matplotlib is there) plots/*.png."""
    out = Path(out or result.out)
    out.mkdir(parents=True, exist_ok=True)
    plots: list[str] = []
    if result.options.plots:
        from .plots import write_plots

        plots = [str(p.relative_to(out)) for p in write_plots(result, out / "plots")]
    md, js = out / "report.md", out / "report.json"
    md.write_text(report_markdown(result, plots))
    js.write_text(json.dumps(report_dict(result, plots), indent=2, allow_nan=False,
                             default=str))
    return [md, js, *(out / p for p in plots)]


def speed_markdown(runs: list) -> str:
    """Stage table of ``bench speed`` runs (MethodRun), with compute-time ratios to MOG2/SuBSENSE."""
    compute = {r.method: r.ms_per_frame()["compute"] for r in runs}
    refs = [m for m in REFERENCE_METHODS if m in compute and compute[m] > 0]
    lines = ["| method | provider | frames | " + " | ".join(STAGE_COLUMNS) + " | compute | fps | "
             "peak RSS MB | GPU MB |" + "".join(f" x {r} time |" for r in refs),
             "| --- | --- |" + " ---: |" * (len(STAGE_COLUMNS) + 5 + len(refs))]
    for r in runs:
        ms = r.ms_per_frame()
        lines.append(f"| {r.method} | {r.provider or 'cpu (OpenCV)'} | {r.frames} | "
                     + " | ".join(_f(ms[c], 2) for c in STAGE_COLUMNS)
                     + f" | {_f(ms['compute'], 2)} | {_f(r.fps, 1)} | {_f(r.peak_rss_mb, 0)} | "
                     + f"{gpu_cell(r.gpu_memory_mb)} |"
                     + "".join(f" {_f(compute[r.method] / compute[ref], 2)} |" for ref in refs))
    return "\n".join(lines)
