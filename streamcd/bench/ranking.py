"""The changedetection.net view of several methods: the seven metrics and the average ranking.

As the CDnet site ranks methods (Goyette et al., CVPRW 2012, section 4; kept for 2014):

- in each category, every method gets a rank per metric (1 = best; higher is better for Re, Sp,
  Pr and F, lower for FPR, FNR and PWC); its **category rank** is the mean of its seven ranks;
- its **average ranking across categories** is the mean of its category ranks (the site's
  ordering column);
- the **overall rank** is the same mean of seven ranks, taken on the overall metrics (the
  mean of the categories).

Ties share the mean of the ranks they span (1, 2.5, 2.5, 4); an undefined (NaN) metric ranks
after every defined one. Only the methods given are ranked: a rank is relative to that set.
Usage::

    view = cdnet_view({"mog2": report_mog2, "knn": report_knn})
    view.average_ranking["knn"], view.category_rank["baseline"]["mog2"]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from .evaluate import Report
from .scoring import Metrics

#: Metrics in the site's column order, with their short names.
METRICS = {"recall": "Re", "specificity": "Sp", "fpr": "FPR", "fnr": "FNR", "pwc": "PWC",
           "precision": "Pr", "f_measure": "F"}
LOWER_IS_BETTER = frozenset({"fpr", "fnr", "pwc"})


def rank(values: dict[str, float], lower_is_better: bool) -> dict[str, float]:
    """1-based rank of each key by value; ties share their mean rank; NaN ranks last."""
    def order(key: str) -> tuple[bool, float]:
        v = values[key]
        if math.isnan(v):
            return True, 0.0
        return False, v if lower_is_better else -v

    keys = sorted(values, key=order)
    ranks: dict[str, float] = {}
    i = 0
    while i < len(keys):
        j = i
        while j + 1 < len(keys) and order(keys[j + 1]) == order(keys[i]):
            j += 1
        for k in keys[i:j + 1]:
            ranks[k] = (i + 1 + j + 1) / 2
        i = j + 1
    return ranks


def metric_ranks(metrics: dict[str, Metrics]) -> dict[str, dict[str, float]]:
    """{metric: {method: rank}} of methods compared on one scope (a category, or overall)."""
    return {name: rank({m: getattr(v, name) for m, v in metrics.items()},
                       name in LOWER_IS_BETTER) for name in METRICS}


def mean_rank(metrics: dict[str, Metrics]) -> dict[str, float]:
    """{method: mean of its seven metric ranks} on one scope."""
    ranks = metric_ranks(metrics)
    return {m: sum(ranks[name][m] for name in METRICS) / len(METRICS) for m in metrics}


@dataclass(frozen=True)
class CdnetView:
    """Per category and overall: each method's metrics and ranks, as the site tabulates them."""

    methods: tuple[str, ...]
    categories: tuple[str, ...]
    metrics: dict[str, dict[str, Metrics]]  # {category: {method: Metrics}}
    category_rank: dict[str, dict[str, float]]  # {category: {method: mean rank}}
    average_ranking: dict[str, float]  # {method: mean of its category ranks}
    overall: dict[str, Metrics]  # {method: overall Metrics}
    overall_rank: dict[str, float]  # {method: mean rank on the overall metrics}

    def order(self) -> list[str]:
        """Methods best first, by average ranking across categories (then overall rank)."""
        return sorted(self.methods, key=lambda m: (self.average_ranking[m],
                                                   self.overall_rank[m]))

    def to_dict(self) -> dict:
        def metrics(m: Metrics) -> dict:
            return {k: (None if math.isnan(v) else v) for k, v in m.as_dict().items()}

        return {
            "ranking": "rank per metric per category (ties: mean rank, undefined last), "
                       "averaged over the 7 metrics, then over the categories",
            "average_ranking": self.average_ranking,
            "overall": {m: {"rank": self.overall_rank[m], **metrics(self.overall[m])}
                        for m in self.methods},
            "categories": {c: {m: {"rank": self.category_rank[c][m],
                                   **metrics(self.metrics[c][m])} for m in self.methods}
                           for c in self.categories},
        }


def cdnet_view(reports: dict[str, Report]) -> CdnetView:
    """Rank the methods of ``reports`` ({method: Report}) the way changedetection.net does.

    Every method must cover the same categories (a missing one would make its rank undefined).
    """
    if not reports:
        raise ValueError("cdnet_view needs at least one method's report")
    methods = tuple(reports)
    by_method = {m: {c.category: c.metrics for c in r.categories} for m, r in reports.items()}
    categories = tuple(sorted(by_method[methods[0]]))
    for m, cats in by_method.items():
        if tuple(sorted(cats)) != categories:
            raise ValueError(f"{m} covers categories {sorted(cats)}, {methods[0]} covers "
                             f"{list(categories)}: rank methods on the same videos")
    metrics = {c: {m: by_method[m][c] for m in methods} for c in categories}
    category_rank = {c: mean_rank(metrics[c]) for c in categories}
    average = {m: sum(category_rank[c][m] for c in categories) / len(categories)
               for m in methods}
    overall = {m: reports[m].overall for m in methods}
    return CdnetView(methods, categories, metrics, category_rank, average, overall,
                     mean_rank(overall))


def view_markdown(view: CdnetView, digits: int = 4) -> str:
    """One table per category and one overall, methods best first, as on the site."""
    names = [f.name for f in fields(Metrics)]
    head = ("| method | rank | " + " | ".join(METRICS[n] for n in names) + " |\n"
            "| --- | ---: |" + " ---: |" * len(names))

    def row(method: str, rank_text: str, m: Metrics) -> str:
        cells = ("n/a" if math.isnan(getattr(m, n)) else f"{getattr(m, n):.{digits}f}"
                 for n in names)
        return f"| {method} | {rank_text} | " + " | ".join(cells) + " |"

    order = view.order()
    lines = [("**Overall** (rank: average ranking across categories; overall-metric rank in "
              "brackets)"), "",
             head.replace("| rank |", "| avg rank |")]
    lines += [row(m, f"{view.average_ranking[m]:.2f} ({view.overall_rank[m]:.2f})",
                  view.overall[m]) for m in order]
    for c in view.categories:
        lines += ["", f"**{c}**", "", head]
        lines += [row(m, f"{view.category_rank[c][m]:.2f}", view.metrics[c][m])
                  for m in sorted(order, key=lambda m: view.category_rank[c][m])]
    return "\n".join(lines)
