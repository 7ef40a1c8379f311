"""A platform evaluation as a pure function of its frozen inputs (冻结数据) and scheme snapshot.

:func:`compute` takes exactly what an :class:`~infocity.evaluation.models.EvaluationRun` stores — the inputs the run
froze (values, their sources, expert scores) and the scheme as it stood — and returns the result document. It reads
no database and no clock, so re-running a frozen run recomputes the same document bit for bit (:func:`digest`
compares them); everything numeric goes through :mod:`infocity.evaluation.engine`.

How a scheme becomes engine weights (documented in the README, "The annual evaluation"):

- The quantitative indicators share 100 − expert points; the expert scores the rest (the full-year progress report
  ``report_share`` % of it, the typical applications the remainder), both already on 0–100.
- ``explicit``: each indicator's points. ``equal``: every indicator alike. ``entropy``: the entropy weights of the
  indicators' values. ``ahp``: the areas' weights from the analyst's pairwise comparison of the areas (principal
  eigenvector, CR < 0.1), shared within each area in proportion to the indicators' points.
- An indicator without any value in the cohort is left out and its points go to the other indicators of its area in
  proportion to theirs (an area without any value drops out and the others scale up); the run lists them.
- A city missing an indicator keeps its area's weight: its area score uses the indicators it has, with re-scaled
  weights, and the city is flagged (engine rule, never a silent zero). A city whose accepted values cover less than
  the scheme's minimum share of the indicators' points (default 50 %) is not ranked and is listed with its coverage.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

import numpy as np

from . import engine
from .models import APPLICATION_COLUMN, EXPERT_AREA, REPORT_COLUMN

ALTERNATIVES = ("arithmetic", "geometric", "topsis")


def canonical_json(document: Any) -> str:
    """Keys sorted, no whitespace, floats in shortest round-trip form: equal documents give equal text."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def digest(document: Any) -> str:
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()


def _floats(array: Any) -> Any:
    """A numpy array as JSON-ready lists, NaN as None."""
    out = np.asarray(array, dtype=np.float64).tolist()

    def clean(value: Any) -> Any:
        if isinstance(value, list):
            return [clean(v) for v in value]
        return None if value is None or math.isnan(value) else value

    return clean(out)


def _ints(array: Any) -> list[int]:
    return [int(v) for v in np.asarray(array).tolist()]


def _quantitative_points(
    snapshot: dict[str, Any], columns: list[dict[str, Any]], x: engine.FloatArray, notes: list[str]
) -> tuple[np.ndarray, dict[str, Any] | None]:
    """Relative weights (summing to 1) of the kept quantitative columns, and the AHP analysis when used."""
    method = snapshot["weighting"]
    areas = [c["area"] for c in columns]
    points = np.array([float(c["points"]) for c in columns])
    if method == "equal":
        return engine.equal_weights(len(columns)), None
    if method == "entropy":
        direction = engine.as_direction([c["direction"] for c in columns], len(columns))
        return engine.entropy_weights(x, direction), None
    # explicit and AHP share the within-area re-scaling of dropped indicators.
    area_points: dict[str, float] = {}
    for item in snapshot["items"]:
        area_points[item["area"]] = area_points.get(item["area"], 0.0) + float(item["points"])
    weights = np.zeros(len(columns))
    area_weight: dict[str, float] = dict(area_points)
    ahp = None
    if method == "ahp":
        order = [a["code"] for a in snapshot["areas"]]
        result = engine.ahp_weights(snapshot["area_pairwise"])
        area_weight = {code: float(w) for code, w in zip(order, result.weights, strict=True)}
        ahp = {
            "areas": order,
            "weights": _floats(result.weights),
            "lambda_max": result.lambda_max,
            "ci": result.ci,
            "ri": result.ri,
            "cr": result.cr,
        }
    for area in dict.fromkeys(areas):
        members = [j for j, a in enumerate(areas) if a == area]
        own = points[members]
        # An area whose remaining indicators all carry 0 points gives them nothing: it drops out like an area
        # without data (the analyst's 0 is kept).
        weights[members] = own / own.sum() * area_weight.get(area, 0.0) if own.sum() > 0 else 0.0
    if weights.sum() <= 0:
        raise engine.EvaluationError("评估方案中有数据的指标分值均为零，无法计算。")
    return weights / weights.sum(), ahp


def compute(inputs: dict[str, Any], snapshot: dict[str, Any]) -> dict[str, Any]:
    """The result document of a run (see the module docstring); raises :class:`engine.EvaluationError`."""
    notes: list[str] = []
    cities = inputs["cities"]
    indicators = inputs["indicators"]
    every_city = np.array(
        [[np.nan if v is None else float(v) for v in row] for row in inputs["values"]], dtype=np.float64
    ).reshape(len(cities), len(indicators))
    scheme_items = {item["code"]: item for item in snapshot["items"]}

    # Coverage: the share of the indicators' points a city has accepted values for. Below the scheme's minimum the
    # city is not ranked but listed with its coverage: a ranking on a few indicators would not compare like with like.
    points = np.array([float(scheme_items[item["code"]]["points"]) for item in indicators])
    if points.sum() <= 0:
        points = np.ones(len(indicators))
    coverage = (~np.isnan(every_city) * points).sum(axis=1) / points.sum() * 100
    minimum = float(snapshot.get("min_coverage", 0))
    candidates = [i for i in range(len(cities)) if coverage[i] > 0 and coverage[i] + 1e-9 >= minimum]
    unranked = [{"city": cities[i], "coverage": float(coverage[i])} for i in range(len(cities)) if i not in candidates]
    if unranked:
        listed = "、".join(f"{u['city']['name']}（{u['coverage']:.0f}%）" for u in unranked)
        notes.append(f"以下城市已受理数据覆盖的指标分值不足 {minimum:g}%，不参与排名：{listed}。")
    if len(candidates) < 2:
        raise engine.EvaluationError(
            f"数据覆盖率达到 {minimum:g}% 的城市不足 2 个，无法排名。请待更多数据受理后再评估，"
            "或在评估方案中调低“参与排名的最低数据覆盖率”。"
        )
    raw = every_city[candidates]
    kept = [j for j in range(len(indicators)) if not np.isnan(raw[:, j]).all()]
    for j in range(len(indicators)):
        if j not in kept:
            notes.append(
                f"指标 {indicators[j]['code']} {indicators[j]['name']} 在参评城市中没有任何已受理数值，本次未计入，"
                "其分值按比例分给同领域的其他指标。"
            )
    if not kept:
        raise engine.EvaluationError("参评城市没有任何已受理的指标数值，无法评估。")
    columns: list[dict[str, Any]] = []
    for j in kept:
        item = indicators[j]
        own = scheme_items[item["code"]]
        columns.append(
            {
                "code": item["code"],
                "name": item["name"],
                "area": item["area"],
                "direction": item["direction"],
                "target": item["target"] if own["use_target"] else None,
                "points": float(own["points"]),
                "kind": "indicator",
                "index": j,
            }
        )
    x = raw[:, kept]
    quantitative, ahp = _quantitative_points(snapshot, columns, x, notes)

    expert_points = float(snapshot["expert_points"])
    report_share = float(snapshot["report_share"]) / 100.0
    expert = inputs.get("expert") or {}
    expert_columns: list[tuple[dict[str, Any], list[Any]]] = []
    absent: list[tuple[str, float]] = []
    for code, name, share, key in (
        (REPORT_COLUMN, "进展报告专家评分", report_share, "report"),
        (APPLICATION_COLUMN, "典型应用专家评分", 1.0 - report_share, "applications"),
    ):
        values = [expert[key][i] for i in candidates] if expert.get(key) else None
        share_points = expert_points * share
        if share_points <= 0:
            continue
        if not values or all(v is None for v in values):
            absent.append((name, share_points))
            continue
        expert_columns.append(
            (
                {
                    "code": code,
                    "name": name,
                    "area": EXPERT_AREA,
                    "direction": 1,
                    "target": 100.0,
                    "points": share_points,
                    "kind": key,
                    "index": None,
                },
                values,
            )
        )
    for name, share_points in absent:
        if expert_columns:
            other = expert_columns[0][0]["name"]
            notes.append(f"参评城市都没有{name}，其 {share_points:g} 分归入{other}。")
        else:
            notes.append(
                f"没有{name}（未选专家评审轮次或参评城市都没有评分），其 {share_points:g} 分按比例分给监测指标。"
            )
    expert_total = sum(c["points"] for c, _ in expert_columns)
    quantitative_total = 100.0 - expert_points if expert_columns else 100.0
    weights = list(quantitative * quantitative_total)
    for column, values in expert_columns:
        columns.append(column)
        weights.append(column["points"] / expert_total * expert_points)
        x = np.column_stack([x, np.array([np.nan if v is None else float(v) for v in values])])
    w = np.array(weights)

    ranked = [k for k in range(len(candidates)) if not np.isnan(x[k][w > 0]).all()]
    for k in range(len(candidates)):
        if k not in ranked:
            city = cities[candidates[k]]
            unranked.append({"city": city, "coverage": float(coverage[candidates[k]])})
            notes.append(f"{city['name']}的已有数值所在指标权重均为 0，无法评分，不参与排名。")
    x = x[ranked]
    names = tuple(cities[candidates[k]]["name"] for k in ranked)
    codes = tuple(c["code"] for c in columns)
    uses_target = snapshot["normalisation"] == "target"
    targets = tuple((float(c["target"]) if c["target"] is not None and uses_target else None) for c in columns)
    mc = snapshot["mc"]
    scheme = engine.Scheme(
        indicators=codes,
        direction=tuple(int(c["direction"]) for c in columns),
        targets=targets,
        areas=tuple(c["area"] for c in columns),
        normalisation=snapshot["normalisation"],
        weighting="explicit",
        weights=tuple(float(v) for v in w),
        aggregation=snapshot["aggregation"],
        mc_samples=int(mc["samples"]),
        mc_seed=int(mc["seed"]),
        mc_spread=float(mc["spread"]),
        mc_normalisations=("rank",) if mc.get("rank_normalisation") and snapshot["aggregation"] != "topsis" else (),
    )
    matrix = engine.Matrix(cities=names, indicators=codes, values=x)
    evaluation = engine.evaluate(matrix, scheme)
    scale = 100.0 if snapshot["aggregation"] == "topsis" else 1.0
    scores = evaluation.scores * scale

    agreement = []
    for method in ALTERNATIVES:
        if method == snapshot["aggregation"]:
            continue
        normalisation = snapshot["normalisation"]
        if method == "geometric" and normalisation == "zscore":
            normalisation = "minmax"
        alternative = engine.evaluate(
            matrix,
            engine.Scheme(
                **{
                    **scheme.__dict__,
                    "aggregation": method,
                    "normalisation": normalisation,
                    "mc_samples": 0,
                    "mc_normalisations": (),
                }
            ),
        )
        agreement.append(
            {
                "method": method,
                "label": engine.AGGREGATIONS[method],
                "spearman": engine.spearman_rho(evaluation.scores, alternative.scores),
                "kendall": engine.kendall_tau_b(evaluation.scores, alternative.scores),
                "ranks": _ints(alternative.ranks),
            }
        )

    explanation = evaluation.explanation
    exact = explanation is not None
    normalised = evaluation.normalised
    if explanation is None:
        # Geometric mean or TOPSIS: shown as the weighted arithmetic decomposition of the same 0–100 scores
        # (min–max for TOPSIS, whose vector normalisation is not a 0–100 score), labelled as approximate.
        method = "minmax" if snapshot["aggregation"] == "topsis" else snapshot["normalisation"]
        direction = engine.as_direction(scheme.direction, len(codes))
        target_array = np.array([np.nan if t is None else t for t in targets])
        normalised = engine.normalise(x, direction, method, target_array)
        area_codes = list(dict.fromkeys(scheme.areas))
        parts = [np.array([j for j, a in enumerate(scheme.areas) if a == code], dtype=np.int64) for code in area_codes]
        explanation = engine.explain_arithmetic(normalised, evaluation.weights, parts)

    uncertainty = evaluation.uncertainty
    return {
        "cities": [cities[candidates[k]] for k in ranked],
        "columns": [{k: v for k, v in c.items() if k != "index"} | {"index": c["index"]} for c in columns],
        "weights": _floats(evaluation.weights),
        "ahp": ahp,
        "area_codes": list(evaluation.area_codes),
        "scores": _floats(scores),
        "ranks": _ints(evaluation.ranks),
        "area_scores": _floats(evaluation.area_scores) if evaluation.area_scores is not None else None,
        "normalised": _floats(normalised),
        "missing": [[bool(v) for v in row] for row in evaluation.missing.tolist()],
        "flagged": [bool(v) for v in evaluation.flagged.tolist()],
        "explanation": {
            "exact": exact,
            "effective_weights": _floats(explanation.effective_weights),
            "contributions": _floats(explanation.contributions),
            "cohort_mean": _floats(explanation.cohort_mean),
            "difference": _floats(explanation.difference),
        },
        "uncertainty": None
        if uncertainty is None
        else {
            "samples": uncertainty.samples,
            "median": _ints(uncertainty.median),
            "p5": _ints(uncertainty.p5),
            "p95": _ints(uncertainty.p95),
        },
        "agreement": agreement,
        "engine_fingerprint": evaluation.fingerprint,
        "coverage": _floats(coverage[[candidates[k] for k in ranked]]),
        "unranked": unranked,
        "notes": notes,
    }
