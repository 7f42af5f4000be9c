"""The leave-one-video-out table of benchmarks/long_videos.sh from its ``streamcd bench`` reports.

Reads every ``report.json`` under OUT: ``lovo-*`` (and any other run) are streamcd on videos
its network never saw, ``classic`` the classic methods, ``seen-default`` the shipped model on
its training cameras. Prints per-video F, per-category and overall F (category = mean of its
videos, overall = mean of categories, as CDnet does) in Markdown.

    python benchmarks/long_videos_table.py out/long_videos
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path


def video_f(report: Path) -> dict[str, dict[str, float]]:
    """{method: {video key: F}} of one bench report."""
    raw = json.loads(report.read_text())
    return {method: {key: v["metrics"]["f_measure"] for key, v in body["scores"]["videos"].items()}
            for method, body in raw["methods"].items()}


def main(out: Path) -> None:
    columns: dict[str, dict[str, float]] = defaultdict(dict)
    for report in sorted(out.glob("*/report.json")):
        run = report.parent.name
        for method, scores in video_f(report).items():
            if method == "streamcd":
                name = "streamcd (seen)" if run.startswith("seen") else "streamcd (unseen)"
            else:
                name = method
            columns[name].update(scores)
    videos = sorted({v for scores in columns.values() for v in scores})
    methods = [m for m in ("streamcd (unseen)", "mog2", "knn", "gsoc", "subsense", "lobster",
                           "streamcd (seen)") if m in columns]
    print("| video | " + " | ".join(methods) + " |")
    print("| --- |" + " ---: |" * len(methods))
    for video in videos:
        cells = [f"{columns[m][video]:.3f}" if video in columns[m] else "" for m in methods]
        print(f"| {video} | " + " | ".join(cells) + " |")
    categories = sorted({v.split("/")[0] for v in videos})
    overall = defaultdict(list)
    for category in categories:
        cells = []
        for m in methods:
            fs = [f for v, f in columns[m].items() if v.startswith(category + "/")]
            if fs and len(fs) == sum(v.startswith(category + "/") for v in videos):
                cells.append(f"{sum(fs) / len(fs):.3f}")
                overall[m].append(sum(fs) / len(fs))
            else:
                cells.append("")
        print(f"| **{category}** | " + " | ".join(cells) + " |")
    cells = [f"**{sum(overall[m]) / len(overall[m]):.3f}**" if len(overall[m]) == len(categories) else ""
             for m in methods]
    print("| **overall** | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "out/long_videos"))
