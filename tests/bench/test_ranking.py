"""The changedetection.net ranking on hand-made tables (ranks worked out by hand below)."""

from __future__ import annotations

import math

import pytest

from streamcd.bench.evaluate import CategoryScore, Report
from streamcd.bench.ranking import cdnet_view, rank, view_markdown
from streamcd.bench.scoring import Confusion, Metrics

NAN = math.nan


def metrics(re, sp, fpr, fnr, pwc, pr, f) -> Metrics:
    return Metrics(re, sp, fpr, fnr, pwc, pr, f)


def report(categories: dict[str, Metrics], overall: Metrics) -> Report:
    cats = tuple(CategoryScore(c, ("v",), Confusion(0, 0, 0, 0), m)
                 for c, m in sorted(categories.items()))
    return Report((), cats, overall)


@pytest.mark.parametrize(("values", "lower", "expected"), [
    # distinct values, higher is better
    ({"a": 0.9, "b": 0.5, "c": 0.7}, False, {"a": 1, "c": 2, "b": 3}),
    # lower is better (FPR, FNR, PWC)
    ({"a": 0.9, "b": 0.5, "c": 0.7}, True, {"b": 1, "c": 2, "a": 3}),
    # a tie shares the mean of the ranks it spans
    ({"a": 1.0, "b": 1.0, "c": 0.0}, False, {"a": 1.5, "b": 1.5, "c": 3}),
    # undefined ranks last, undefined ties share the last ranks
    ({"a": NAN, "b": 0.2, "c": NAN, "d": 0.1}, True, {"d": 1, "b": 2, "a": 3.5, "c": 3.5}),
])
def test_rank(values, lower, expected):
    assert rank(values, lower) == expected


# Category "busy": ranks per metric (Re, Sp, FPR, FNR, PWC, Pr, F):
#   a: 1, 2, 2, 1, 1, 2, 1.5 -> 10.5 / 7 = 1.5
#   b: 2, 3, 3, 2, 3, 1, 1.5 -> 15.5 / 7
#   c: 3, 1, 1, 3, 2, 3 (Pr undefined), 3 (F undefined) -> 16 / 7
# Category "calm": c best, a second, b third on every metric -> c 1, a 2, b 3.
# Average ranking across categories: a (1.5 + 2) / 2, b (15.5/7 + 3) / 2, c (16/7 + 1) / 2.
BUSY = {"a": metrics(0.9, 0.99, 0.01, 0.1, 1.0, 0.8, 0.85),
        "b": metrics(0.8, 0.98, 0.02, 0.2, 2.0, 0.9, 0.85),
        "c": metrics(0.7, 0.995, 0.005, 0.3, 1.5, NAN, NAN)}
CALM = {"a": metrics(0.8, 0.98, 0.02, 0.2, 2.0, 0.8, 0.8),
        "b": metrics(0.7, 0.97, 0.03, 0.3, 3.0, 0.7, 0.7),
        "c": metrics(0.9, 0.99, 0.01, 0.1, 1.0, 0.9, 0.9)}
# Overall metrics chosen so that b is best on all seven: overall ranks b 1, a 2, c 3.
OVERALL = {"a": metrics(0.8, 0.98, 0.02, 0.2, 2.0, 0.8, 0.8),
           "b": metrics(0.9, 0.99, 0.01, 0.1, 1.0, 0.9, 0.9),
           "c": metrics(0.7, 0.97, 0.03, 0.3, 3.0, 0.7, 0.7)}


@pytest.fixture
def view():
    return cdnet_view({m: report({"busy": BUSY[m], "calm": CALM[m]}, OVERALL[m])
                       for m in ("a", "b", "c")})


def test_category_rank_is_the_mean_of_the_seven_metric_ranks(view):
    assert view.category_rank["busy"] == pytest.approx({"a": 1.5, "b": 15.5 / 7, "c": 16 / 7})
    assert view.category_rank["calm"] == pytest.approx({"a": 2, "b": 3, "c": 1})


def test_average_ranking_is_the_mean_over_categories(view):
    assert view.average_ranking == pytest.approx(
        {"a": 1.75, "b": (15.5 / 7 + 3) / 2, "c": (16 / 7 + 1) / 2})
    assert view.order() == ["c", "a", "b"]  # not the order of either category alone


def test_overall_rank_uses_the_overall_metrics(view):
    assert view.overall_rank == pytest.approx({"a": 2, "b": 1, "c": 3})


def test_markdown_lists_methods_best_first(view):
    text = view_markdown(view)
    overall = text.split("**busy**")[0]
    assert overall.index("| c |") < overall.index("| a |") < overall.index("| b |")
    busy = text.split("**busy**")[1].split("**calm**")[0]
    assert busy.index("| a | 1.50 |") < busy.index("| b | 2.21 |") < busy.index("| c | 2.29 |")
    assert "| n/a | n/a |" in busy  # c's undefined Pr and F


def test_to_dict_is_strict_json(view):
    import json

    data = json.loads(json.dumps(view.to_dict(), allow_nan=False))
    assert data["categories"]["busy"]["c"]["precision"] is None
    assert data["average_ranking"]["a"] == pytest.approx(1.75)


def test_methods_must_cover_the_same_categories():
    with pytest.raises(ValueError, match="same videos"):
        cdnet_view({"a": report({"busy": BUSY["a"]}, OVERALL["a"]),
                    "b": report({"busy": BUSY["b"], "calm": CALM["b"]}, OVERALL["b"])})
