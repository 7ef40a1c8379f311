"""The annual evaluation engine (年度评估计算引擎): normalisation, weights, aggregation, ranks and their uncertainty.

Pure, vectorised functions over numpy arrays — no Django, no database — so that the platform's evaluation runs and
``manage.py evaluate_matrix`` compute through the same code (BRIEF §7). Each method is pinned to its textbook
definition; the docstrings give the formula, the reference and every edge case the textbook leaves open.

Conventions used throughout:

- ``x`` is the decision matrix, m cities (rows) × n indicators (columns), float64. A missing value is NaN — never a
  zero: every function states what it does with NaN, and :func:`evaluate` flags the cities concerned.
- ``direction`` holds d_j = +1 (正向, higher is better) or −1 (逆向, lower is better) per indicator.
- ``targets`` holds the target value t_j of each indicator, NaN where it has none.
- Normalised scores are "higher is better" on 0–100, except z-scores (centred on 0) and the vector normalisation of
  TOPSIS (not directional: TOPSIS applies the direction when it picks the ideal).
- Determinism: the same inputs give bit-identical outputs on the same platform and numpy build. Weighted sums are
  accumulated indicator by indicator in a fixed order (never through BLAS, whose blocking and threading may change
  the order of additions), random numbers come from a seeded ``numpy.random.Generator`` (PCG64), and every draw is
  made before any chunked computation, so results do not depend on the chunk size.

Errors are :class:`EvaluationError` with a message in Chinese for the analyst.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# Bump whenever a change could alter any result: it is part of every run's fingerprint.
ENGINE_VERSION: Final = "1"

NORMALISATIONS: Final = {
    "target": "距目标值（无目标值的指标按极差标准化）",
    "minmax": "极差标准化（最小–最大）",
    "zscore": "Z 分数标准化",
    "rank": "秩次标准化",
}
WEIGHTINGS: Final = {"equal": "等权", "explicit": "专家赋权", "entropy": "熵权法", "ahp": "层次分析法"}
AGGREGATIONS: Final = {"arithmetic": "加权算术平均", "geometric": "加权几何平均", "topsis": "TOPSIS 逼近理想解排序法"}

# Saaty's random consistency index RI(n), the mean CI of random reciprocal matrices of order n (Saaty, "The Analytic
# Hierarchy Process", McGraw-Hill 1980; the table most widely reprinted, n ≤ 15).
RANDOM_INDEX: Final = {
    1: 0.0,
    2: 0.0,
    3: 0.58,
    4: 0.90,
    5: 1.12,
    6: 1.24,
    7: 1.32,
    8: 1.41,
    9: 1.45,
    10: 1.49,
    11: 1.51,
    12: 1.48,
    13: 1.56,
    14: 1.57,
    15: 1.59,
}
CONSISTENCY_LIMIT: Final = 0.1
# a_ij · a_ji may differ from 1 by this much: a reciprocal typed with three significant digits (0.333 for 1/3,
# 0.143 for 1/7) passes, a different judgement (0.3 for 1/3) does not.
RECIPROCAL_TOLERANCE: Final = 0.005
# The weighted geometric mean needs strictly positive scores: scores (0–100) below this floor count as the floor.
GEOMETRIC_FLOOR: Final = 1.0
# Monte Carlo: weights perturbed by up to ±25 % each, then renormalised.
DEFAULT_SPREAD: Final = 0.25
# Samples processed at once by the Monte Carlo: bounds the memory to a few (chunk × cities) arrays.
CHUNK: Final = 256


class EvaluationError(ValueError):
    """Input the engine refuses, with a message in Chinese for the analyst."""


class InconsistentJudgements(EvaluationError):
    """An AHP pairwise comparison matrix whose consistency ratio is not below 0.1."""

    def __init__(self, cr: float) -> None:
        self.cr = cr
        super().__init__(
            f"判断矩阵的一致性比率 CR = {cr:.4f}，不小于 {CONSISTENCY_LIMIT}，未通过一致性检验；"
            "请调整两两比较的判断后重试。"
        )


# --- input checks ---------------------------------------------------------------------------------


def as_matrix(values: npt.ArrayLike) -> FloatArray:
    """``values`` as an m × n float64 matrix (m, n ≥ 1): finite numbers, NaN for missing values."""
    try:
        x = np.array(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise EvaluationError("数据矩阵含有非数值内容。") from error
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise EvaluationError("数据矩阵应为“城市 × 指标”的二维表，且至少有一个城市和一项指标。")
    if np.isinf(x).any():
        raise EvaluationError("数据矩阵含有无穷大的数值。")
    return x


def as_direction(direction: npt.ArrayLike, n: int) -> IntArray:
    """The direction of each of n indicators: +1 or −1."""
    d = np.asarray(direction)
    if d.shape != (n,) or not np.isin(d, (1, -1)).all():
        raise EvaluationError(f"指标方向应为 {n} 个 +1（正向）或 −1（逆向）。")
    return d.astype(np.int64)


def as_weights(weights: npt.ArrayLike, n: int) -> FloatArray:
    """Explicit (expert) weights: n finite non-negative numbers, not all zero, normalised to sum to 1.

    w_j = W_j / Σ_k W_k — so weights may be given on any scale (percentages, points)."""
    try:
        w = np.array(weights, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise EvaluationError("权重应为数值。") from error
    if w.shape != (n,):
        raise EvaluationError(f"应为每项指标给出一个权重（共 {n} 项），实际为 {w.size} 个。")
    if not np.isfinite(w).all() or (w < 0).any():
        raise EvaluationError("权重应为有限的非负数。")
    total = float(w.sum())
    if total <= 0:
        raise EvaluationError("权重不能全部为零。")
    return w / total


def equal_weights(n: int) -> FloatArray:
    """Equal weights w_j = 1/n."""
    return np.full(n, 1.0 / n)


def _require_values(x: FloatArray) -> None:
    empty = np.flatnonzero(np.isnan(x).all(axis=0))
    if empty.size:
        raise EvaluationError(f"第 {int(empty[0]) + 1} 项指标没有任何城市的数值。")


# --- normalisation --------------------------------------------------------------------------------


def distance_to_target(x: FloatArray, direction: IntArray, targets: FloatArray) -> FloatArray:
    """Distance to target, capped at 100 (目标值达成度; GB/T 33356-2016 style 100-point scores).

    For d_j = +1 (the target is a floor):   s_ij = 100 · min(x_ij / t_j, 1), and s_ij = 0 when x_ij ≤ 0.
    For d_j = −1 (the target is a ceiling): s_ij = 100 · min(t_j / x_ij, 1), and s_ij = 100 when x_ij ≤ 0 (at or
    below a positive ceiling). Every target must be finite and positive. Missing values stay missing (NaN).
    """
    if targets.shape != (x.shape[1],) or not np.isfinite(targets).all() or (targets <= 0).any():
        raise EvaluationError("距目标值标准化要求每项指标都有大于 0 的目标值。")
    with np.errstate(divide="ignore", invalid="ignore"):
        rising = np.clip(x / targets, 0.0, 1.0)
        falling = np.where(x > 0, np.minimum(targets / x, 1.0), 1.0)
    scores = 100.0 * np.where(direction > 0, rising, falling)
    return np.where(np.isnan(x), np.nan, scores)


def min_max(x: FloatArray, direction: IntArray) -> FloatArray:
    """Directional min–max normalisation within the cohort (极差标准化), 0–100.

    d_j = +1: s_ij = 100 · (x_ij − min_j) / (max_j − min_j);  d_j = −1: s_ij = 100 · (max_j − x_ij) / (max_j − min_j),
    with min_j and max_j over the cities that have a value (OECD/JRC, Handbook on Constructing Composite Indicators,
    2008, "normalisation"). A column in which every available value is equal (including a single value) carries no
    information about the cities' order: every city scores 100 there — none is behind the cohort's best, the
    geometric mean stays defined and, in the entropy weight method, the column gets weight 0. Missing values stay
    missing.
    """
    _require_values(x)
    low = np.nanmin(x, axis=0)
    high = np.nanmax(x, axis=0)
    span = high - low
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = 100.0 * np.where(direction > 0, (x - low) / span, (high - x) / span)
    scores = np.where(span > 0, scores, 100.0)
    return np.where(np.isnan(x), np.nan, scores)


def z_score(x: FloatArray, direction: IntArray) -> FloatArray:
    """Directional z-score (Z 分数标准化): s_ij = d_j · (x_ij − μ_j) / σ_j.

    μ_j and σ_j are the mean and the population standard deviation (divisor m_j, the number of cities with a value:
    the cohort is the whole population evaluated, not a sample) over the available values (OECD/JRC Handbook 2008,
    "normalisation"). A column with σ_j = 0 scores 0 for every city. Missing values stay missing. Not on 0–100 and
    possibly negative: not usable with the weighted geometric mean.
    """
    _require_values(x)
    mean = np.nanmean(x, axis=0)
    sd = np.nanstd(x, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = direction * (x - mean) / sd
    scores = np.where(sd > 0, scores, 0.0)
    return np.where(np.isnan(x), np.nan, scores)


def average_ranks(values: FloatArray) -> FloatArray:
    """Ranks 1…k of a 1-D array in ascending order, ties given the average of the ranks they span
    (the "fractional" ranking used by Spearman's ρ). No NaN."""
    ordered = np.sort(values)
    left = np.searchsorted(ordered, values, side="left")
    right = np.searchsorted(ordered, values, side="right")
    return (left + right + 1) / 2.0


def rank_normalise(x: FloatArray, direction: IntArray) -> FloatArray:
    """Rank normalisation (秩次标准化), 0–100: s_ij = 100 · (r_ij − 1) / (m_j − 1).

    r_ij is the average rank (ties share the mean of their ranks) of d_j · x_ij among the m_j cities with a value,
    1 = worst (OECD/JRC Handbook 2008, "normalisation": ranking). m_j = 1 gives 100, as a constant column does in
    :func:`min_max`. Missing values stay missing.
    """
    _require_values(x)
    scores = np.full(x.shape, np.nan)
    for j in range(x.shape[1]):
        present = ~np.isnan(x[:, j])
        count = int(present.sum())
        if count == 1:
            scores[present, j] = 100.0
        else:
            scores[present, j] = 100.0 * (average_ranks(direction[j] * x[present, j]) - 1.0) / (count - 1)
    return scores


def vector_normalise(x: FloatArray) -> FloatArray:
    """Vector normalisation (向量归一化) of TOPSIS: r_ij = x_ij / √(Σ_i x_ij²), the sum over the available values.

    Not directional (Hwang & Yoon 1981 apply the direction when choosing the ideal). A column of zeros gives 0.
    Missing values stay missing.
    """
    _require_values(x)
    # Each column is first divided by its largest magnitude (the result is the same in exact arithmetic): squaring
    # a value such as 1e-159 would underflow to a subnormal number and lose its precision.
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.nanmax(np.abs(x), axis=0)
        scaled = np.where(scale > 0, x / scale, 0.0)
        norm = np.sqrt(np.nansum(scaled * scaled, axis=0))
        r = np.where(norm > 0, scaled / norm, 0.0)
    return np.where(np.isnan(x), np.nan, r)


def normalise(x: FloatArray, direction: IntArray, method: str, targets: FloatArray | None = None) -> FloatArray:
    """Normalised scores by one of :data:`NORMALISATIONS`.

    ``"target"`` is the 2016 default of BRIEF §7: :func:`distance_to_target` for the indicators with a target,
    :func:`min_max` within the cohort for those without one ("rising" indicators).
    """
    if method == "minmax":
        return min_max(x, direction)
    if method == "zscore":
        return z_score(x, direction)
    if method == "rank":
        return rank_normalise(x, direction)
    if method == "target":
        t = np.full(x.shape[1], np.nan) if targets is None else targets
        has_target = ~np.isnan(t)
        scores = min_max(x, direction)
        if has_target.any():
            scores[:, has_target] = distance_to_target(x[:, has_target], direction[has_target], t[has_target])
        return scores
    raise EvaluationError(f"未知的标准化方法“{method}”，可选：{'、'.join(NORMALISATIONS)}。")


# --- weights --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AhpResult:
    """Weights from a pairwise comparison matrix and its consistency (一致性检验)."""

    weights: FloatArray
    lambda_max: float
    ci: float
    ri: float
    cr: float


def pairwise_matrix(pairwise: npt.ArrayLike) -> FloatArray:
    """A checked reciprocal pairwise comparison matrix (判断矩阵).

    Entries must be finite and positive, the diagonal 1, and a_ji = 1/a_ij within :data:`RECIPROCAL_TOLERANCE`.
    The judgements are the upper triangle: the lower triangle, once checked, is replaced by their exact
    reciprocals, so that a reciprocal typed as 0.333 gives the same weights as 1/3.
    """
    try:
        a = np.array(pairwise, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise EvaluationError("判断矩阵含有非数值内容。") from error
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] < 1:
        raise EvaluationError("判断矩阵应为方阵。")
    n = a.shape[0]
    if n > max(RANDOM_INDEX):
        raise EvaluationError(
            f"判断矩阵最多 {max(RANDOM_INDEX)} 阶（Saaty 随机一致性指标 RI 的表列范围），实际为 {n} 阶。"
        )
    if not np.isfinite(a).all() or (a <= 0).any():
        raise EvaluationError("判断矩阵的元素应为正数。")
    if (np.abs(np.diag(a) - 1.0) > RECIPROCAL_TOLERANCE).any():
        raise EvaluationError("判断矩阵的对角线元素应为 1。")
    for i in range(n):
        for j in range(i + 1, n):
            if abs(a[i, j] * a[j, i] - 1.0) > RECIPROCAL_TOLERANCE:
                raise EvaluationError(
                    f"判断矩阵不是互反矩阵：第 {i + 1} 行第 {j + 1} 列为 {a[i, j]:g}，"
                    f"第 {j + 1} 行第 {i + 1} 列应为其倒数，实际为 {a[j, i]:g}（可写作 1/3 这样的分数）。"
                )
    upper = np.triu(a, 1)
    with np.errstate(divide="ignore"):
        lower = np.where(upper.T > 0, 1.0 / upper.T, 0.0)
    return upper + lower + np.eye(n)


def analyse_pairwise(pairwise: npt.ArrayLike) -> AhpResult:
    """AHP weights by the principal eigenvector, with Saaty's consistency ratio (Saaty 1980) — without refusing.

    A w = λ_max w with w the Perron eigenvector of the checked matrix (:func:`pairwise_matrix`), normalised to
    Σ w_j = 1; CI = (λ_max − n)/(n − 1); CR = CI / RI(n) with Saaty's :data:`RANDOM_INDEX`. For n ≤ 2 a reciprocal
    matrix is always consistent: CI = CR = 0. λ_max ≥ n for every positive reciprocal matrix, so a CI below 0 can
    only be rounding and is reported as 0. Use :func:`ahp_weights` to refuse inconsistent judgements.
    """
    a = pairwise_matrix(pairwise)
    n = a.shape[0]
    eigenvalues, eigenvectors = np.linalg.eig(a)
    k = int(np.argmax(eigenvalues.real))
    lambda_max = float(eigenvalues[k].real)
    vector = eigenvectors[:, k].real
    weights = np.asarray(vector / vector.sum(), dtype=np.float64)
    ci = max((lambda_max - n) / (n - 1), 0.0) if n > 2 else 0.0
    ri = RANDOM_INDEX[n]
    cr = ci / ri if ri > 0 else 0.0
    return AhpResult(weights=weights, lambda_max=lambda_max, ci=ci, ri=ri, cr=cr)


def ahp_weights(pairwise: npt.ArrayLike) -> AhpResult:
    """:func:`analyse_pairwise`, refusing judgements with CR ≥ 0.1 (:class:`InconsistentJudgements`)."""
    result = analyse_pairwise(pairwise)
    if result.cr >= CONSISTENCY_LIMIT:
        raise InconsistentJudgements(result.cr)
    return result


def entropy_weights(x: FloatArray, direction: IntArray) -> FloatArray:
    """The entropy weight method (熵权法), exactly as BRIEF §7.

    x′_ij = directional min–max of x_ij on [0, 1] (:func:`min_max` / 100); p_ij = x′_ij / Σ_i x′_ij;
    e_j = −(1 / ln m_j) Σ_i p_ij ln p_ij with 0 · ln 0 = 0; w_j = (1 − e_j) / Σ_k (1 − e_k).

    Missing values: each column uses the m_j cities that have a value (so m_j replaces m). A column whose available
    values are all equal (or with a single value) carries no information: e_j = 1 exactly, hence w_j = 0. If no
    column carries information the weights are undefined and the method is refused.
    """
    x = as_matrix(x)
    d = as_direction(direction, x.shape[1])
    scaled = min_max(x, d) / 100.0
    present = ~np.isnan(scaled)
    count = present.sum(axis=0)
    informative = (np.nanmax(x, axis=0) > np.nanmin(x, axis=0)) & (count >= 2)
    filled = np.where(present, scaled, 0.0)
    total = filled.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = filled / total
        plogp = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
        e = -plogp.sum(axis=0) / np.log(count)
    divergence = np.where(informative, 1.0 - e, 0.0)
    total_divergence = float(divergence.sum())
    if total_divergence <= 0:
        raise EvaluationError("各项指标在各城市间的数值都相同，熵权法无法确定权重。")
    return np.asarray(divergence / total_divergence, dtype=np.float64)


# --- aggregation ----------------------------------------------------------------------------------


def _accumulate(weights: FloatArray, values: FloatArray) -> FloatArray:
    """Σ_j weights[s, j] · values[i, j] for every sample s and city i, as a (samples × cities) array.

    Summed indicator by indicator in column order — a fixed order of additions, unlike a BLAS product."""
    out = np.zeros((weights.shape[0], values.shape[0]))
    term = np.empty_like(out)
    for j in range(weights.shape[1]):
        np.multiply(weights[:, j : j + 1], values[:, j], out=term)
        out += term
    return out


def _row_sums(weights: FloatArray) -> FloatArray:
    """Σ_j weights[s, j] as a (samples × 1) array, in column order (as :func:`_accumulate` with values 1)."""
    out = np.zeros((weights.shape[0], 1))
    for j in range(weights.shape[1]):
        out += weights[:, j : j + 1]
    return out


def _hierarchical_mean(
    weights: FloatArray, values: FloatArray, present: BoolArray, areas: Sequence[IntArray]
) -> tuple[FloatArray, list[FloatArray]]:
    """The weighted arithmetic mean of ``values`` per area and over the areas, for every row of ``weights``.

    Within area a: M_ia = Σ_{j∈a, present} w_j v_ij / Σ_{j∈a, present} w_j — the area's available indicators with
    their weights re-scaled; NaN when none is available (or they all weigh 0). Overall:
    Σ_a W_a M_ia / Σ_a W_a over the areas with a score, W_a = Σ_{j∈a} w_j — an area keeps its weight while it has
    any indicator. One area is the plain weighted mean over the available indicators.
    Returns (overall, [per area]), each (samples × cities).
    """
    complete = bool(present.all())
    filled = np.where(present, values, 0.0)
    mask = present.astype(np.float64)
    means = []
    for columns in areas:
        w = weights[:, columns]
        numerator = _accumulate(w, filled[:, columns])
        denominator = _row_sums(w) if complete else _accumulate(w, mask[:, columns])
        with np.errstate(divide="ignore", invalid="ignore"):
            means.append(np.where(denominator > 0, numerator / denominator, np.nan))
    if len(means) == 1:
        return means[0], means
    numerator = np.zeros_like(means[0])
    denominator = np.zeros_like(means[0])
    for columns, mean in zip(areas, means, strict=True):
        area_weight = _row_sums(weights[:, columns])
        scored = ~np.isnan(mean)
        numerator += np.where(scored, area_weight * np.where(scored, mean, 0.0), 0.0)
        denominator += np.where(scored, area_weight, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        overall = np.where(denominator > 0, numerator / denominator, np.nan)
    return overall, means


def _one_area(n: int) -> list[IntArray]:
    return [np.arange(n, dtype=np.int64)]


def weighted_arithmetic(
    scores: FloatArray, weights: FloatArray, areas: Sequence[IntArray] | None = None
) -> tuple[FloatArray, FloatArray]:
    """Weighted arithmetic mean (加权算术平均): S_i = Σ_j w_j s_ij / Σ_j w_j.

    Missing scores (NaN): the city's mean uses its available indicators with their weights re-scaled, per area and
    then over the areas (see ``_hierarchical_mean``); NaN only when nothing with a positive weight is available.
    ``areas`` lists the column indices of each area (default: one area). Returns (overall (m,), areas (m × a)).
    """
    parts = _one_area(scores.shape[1]) if areas is None else areas
    overall, means = _hierarchical_mean(weights[np.newaxis, :], scores, ~np.isnan(scores), parts)
    return overall[0], np.stack([mean[0] for mean in means], axis=1)


def weighted_geometric(
    scores: FloatArray, weights: FloatArray, areas: Sequence[IntArray] | None = None
) -> tuple[FloatArray, FloatArray]:
    """Weighted geometric mean (加权几何平均): S_i = Π_j s_ij^(w_j / Σ_k w_k) = exp(Σ_j w_j ln s_ij / Σ_j w_j).

    Scores must not be negative; a score below :data:`GEOMETRIC_FLOOR` (1 point on the 0–100 scale, zeros
    included) counts as the floor, so that one zero does not wipe out every other indicator while a very low score
    still weighs heavily (the geometric mean is defined for positive values only: OECD/JRC Handbook 2008,
    "aggregation").
    Missing values and areas as :func:`weighted_arithmetic`, on the logarithms: an area's score is the geometric
    mean of its available indicators, the overall score the weighted geometric mean of the area scores.
    """
    parts = _one_area(scores.shape[1]) if areas is None else areas
    floored = _floored(scores)
    present = ~np.isnan(scores)
    overall, means = _hierarchical_mean(weights[np.newaxis, :], np.log(floored), present, parts)
    by_area = [
        _within(np.exp(mean[0]), floored[:, columns], present[:, columns])
        for mean, columns in zip(means, parts, strict=True)
    ]
    return _within(np.exp(overall[0]), floored, present), np.stack(by_area, axis=1)


def _floored(scores: FloatArray) -> FloatArray:
    if (scores < 0).any():
        raise EvaluationError("加权几何平均要求得分不为负，不能与 Z 分数标准化同用。")
    return np.maximum(scores, GEOMETRIC_FLOOR)


def _within(means: FloatArray, scores: FloatArray, present: BoolArray) -> FloatArray:
    """``means`` (…× cities) kept within each city's lowest and highest available score, where a mean lies: exp(ln s)
    may round past s, and a geometric mean of 100s should be 100, not 100.00000000000004."""
    low = np.where(present, scores, np.inf).min(axis=1)
    high = np.where(present, scores, -np.inf).max(axis=1)
    return np.asarray(np.minimum(np.maximum(means, low), high), dtype=np.float64)


@dataclass(frozen=True)
class TopsisResult:
    """TOPSIS for one set of weights: the closeness C_i and what it is made of."""

    closeness: FloatArray
    d_plus: FloatArray
    d_minus: FloatArray
    ideal: FloatArray
    anti_ideal: FloatArray


@dataclass(frozen=True)
class _TopsisGaps:
    """Squared gaps (r_ij − r⁺_j)² and (r_ij − r⁻_j)², 0 where missing: D² = Σ_j w_j² · gap_ij."""

    to_ideal: FloatArray
    to_anti_ideal: FloatArray
    best: FloatArray
    worst: FloatArray


def _topsis_gaps(x: FloatArray, direction: IntArray) -> _TopsisGaps:
    r = vector_normalise(x)
    best = np.where(direction > 0, np.nanmax(r, axis=0), np.nanmin(r, axis=0))
    worst = np.where(direction > 0, np.nanmin(r, axis=0), np.nanmax(r, axis=0))
    present = ~np.isnan(r)
    return _TopsisGaps(
        to_ideal=np.where(present, (r - best) ** 2, 0.0),
        to_anti_ideal=np.where(present, (r - worst) ** 2, 0.0),
        best=best,
        worst=worst,
    )


def _closeness(weights: FloatArray, gaps: _TopsisGaps) -> tuple[FloatArray, FloatArray, FloatArray]:
    squared = weights * weights
    d_plus = np.sqrt(_accumulate(squared, gaps.to_ideal))
    d_minus = np.sqrt(_accumulate(squared, gaps.to_anti_ideal))
    total = d_plus + d_minus
    with np.errstate(divide="ignore", invalid="ignore"):
        closeness = np.where(total > 0, d_minus / total, 0.5)
    return closeness, d_plus, d_minus


def topsis(x: FloatArray, weights: FloatArray, direction: IntArray) -> TopsisResult:
    """TOPSIS after Hwang & Yoon (Multiple Attribute Decision Making, Springer 1981, ch. 3.3.2.5).

    r_ij = x_ij / √(Σ_i x_ij²) (:func:`vector_normalise`); v_ij = w_j r_ij; ideal v⁺_j = max_i v_ij for d_j = +1,
    min_i v_ij for d_j = −1, anti-ideal v⁻_j the opposite; D⁺_i = √(Σ_j (v_ij − v⁺_j)²), D⁻_i = √(Σ_j (v_ij − v⁻_j)²);
    closeness C_i = D⁻_i / (D⁺_i + D⁻_i) ∈ [0, 1]. Works on the raw values, not on a prior normalisation.

    D⁺_i + D⁻_i = 0 (every available indicator equal across the cities) gives C_i = 0.5: the city is both the ideal
    and the anti-ideal. Missing values: the ideal and the anti-ideal come from the cities with a value, and a city's
    distances run over its available indicators. Re-scaling that city's weights to its available indicators
    multiplies D⁺ and D⁻ by the same factor, so C_i is the same either way.
    """
    gaps = _topsis_gaps(x, direction)
    closeness, d_plus, d_minus = _closeness(weights[np.newaxis, :], gaps)
    return TopsisResult(
        closeness=closeness[0],
        d_plus=d_plus[0],
        d_minus=d_minus[0],
        ideal=weights * gaps.best,
        anti_ideal=weights * gaps.worst,
    )


# --- ranks and rank agreement ---------------------------------------------------------------------


def _ranks_by_row(scores: FloatArray, dense: bool = False) -> IntArray:
    """Ranks of each row of (samples × cities) scores, highest score = 1; equal scores share a rank."""
    k, m = scores.shape
    order = np.argsort(-scores, axis=1, kind="stable")
    ordered = np.take_along_axis(scores, order, axis=1)
    starts = np.ones((k, m), dtype=bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    if dense:
        ranked = np.cumsum(starts, axis=1, dtype=np.int64)
    else:
        positions = np.where(starts, np.arange(m, dtype=np.int64), 0)
        ranked = np.maximum.accumulate(positions, axis=1) + 1
    ranks = np.empty((k, m), dtype=np.int64)
    np.put_along_axis(ranks, order, ranked, axis=1)
    return ranks


def rank_scores(scores: npt.ArrayLike, method: str = "competition") -> IntArray:
    """Ranks of scores, the highest scoring city first (rank 1).

    ``"competition"`` ("1224" ranking): rank = 1 + the number of strictly higher scores — equal scores share the
    best rank and the next rank is skipped. ``"dense"`` ("1223"): rank = 1 + the number of distinct higher scores.
    Without ties either is a permutation of 1…m. Scores are compared exactly (no tolerance).
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1 or np.isnan(s).any():
        raise EvaluationError("排名要求每个城市都有得分。")
    if method not in ("competition", "dense"):
        raise EvaluationError(f"未知的排名方式“{method}”。")
    ranks: IntArray = _ranks_by_row(s[np.newaxis, :], dense=method == "dense")[0]
    return ranks


def _paired(a: npt.ArrayLike, b: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape or x.size < 2 or np.isnan(x).any() or np.isnan(y).any():
        raise EvaluationError("比较两种排名需要同样多（至少两个）城市的完整得分。")
    return x, y


def spearman_rho(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    """Spearman's rank correlation ρ: Pearson's correlation of the average ranks (ties share their mean rank).

    ρ = Σ (R_i − R̄)(S_i − S̄) / √(Σ (R_i − R̄)² Σ (S_i − S̄)²); without ties this equals 1 − 6 Σ d_i² / (m (m² − 1))
    (Spearman 1904). NaN when either ranking is constant (undefined)."""
    x, y = _paired(a, b)
    rx = average_ranks(x) - (x.size + 1) / 2.0
    ry = average_ranks(y) - (y.size + 1) / 2.0
    denominator = math.sqrt(float((rx * rx).sum()) * float((ry * ry).sum()))
    return float((rx * ry).sum()) / denominator if denominator > 0 else math.nan


def kendall_tau_b(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    """Kendall's τ-b, which corrects for ties (Kendall 1945).

    τ_b = (n_c − n_d) / √((n_0 − n_1)(n_0 − n_2)) over the pairs i < j: n_c concordant, n_d discordant, n_0 all
    pairs, n_1 and n_2 the pairs tied in a and in b. With s(·) the sign function,
    n_c − n_d = Σ s(a_i − a_j) s(b_i − b_j) and n_0 − n_1 = Σ |s(a_i − a_j)|: integer sums, exact. NaN when either
    ranking is constant (undefined)."""
    x, y = _paired(a, b)
    upper = np.triu_indices(x.size, k=1)
    sx = np.sign(x[:, np.newaxis] - x[np.newaxis, :])[upper].astype(np.int64)
    sy = np.sign(y[:, np.newaxis] - y[np.newaxis, :])[upper].astype(np.int64)
    untied_x = int(np.abs(sx).sum())
    untied_y = int(np.abs(sy).sum())
    if untied_x == 0 or untied_y == 0:
        return math.nan
    return int((sx * sy).sum()) / math.sqrt(untied_x * untied_y)


# --- explanation ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Explanation:
    """A weighted arithmetic score as a sum of parts (得分构成), each city × indicator.

    ``effective_weights[i, j]`` is the weight indicator j finally carries in city i's score (re-scaled when the city
    misses indicators, 0 for a missing one); ``contributions[i, j]`` = effective weight × score, and Σ_j
    contributions[i, j] is the city's score. ``cohort_mean[j]`` is the mean contribution over all cities (a missing
    indicator contributes 0), so Σ_j ``difference[i, j]`` = the city's score − the cohort's mean score: the
    indicators with positive differences raised the city above the cohort, the negative ones lowered it.
    """

    effective_weights: FloatArray
    contributions: FloatArray
    cohort_mean: FloatArray
    difference: FloatArray


def explain_arithmetic(scores: FloatArray, weights: FloatArray, areas: Sequence[IntArray] | None = None) -> Explanation:
    """The :class:`Explanation` of :func:`weighted_arithmetic` with the same scores, weights and areas."""
    m, n = scores.shape
    parts = _one_area(n) if areas is None else areas
    present = ~np.isnan(scores)
    effective = np.zeros((m, n))
    area_share = np.zeros((m, len(parts)))
    for a, columns in enumerate(parts):
        w = np.where(present[:, columns], weights[columns], 0.0)
        available = w.sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            effective[:, columns] = np.where(available > 0, w / available, 0.0)
        area_share[:, a] = np.where(available[:, 0] > 0, weights[columns].sum(), 0.0)
    share_total = area_share.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        area_share = np.where(share_total > 0, area_share / share_total, 0.0)
    for a, columns in enumerate(parts):
        effective[:, columns] *= area_share[:, a : a + 1]
    contributions = effective * np.where(present, scores, 0.0)
    cohort_mean = contributions.mean(axis=0)
    return Explanation(
        effective_weights=effective,
        contributions=contributions,
        cohort_mean=cohort_mean,
        difference=contributions - cohort_mean,
    )


# --- Monte Carlo rank uncertainty -----------------------------------------------------------------


@dataclass(frozen=True)
class RankUncertainty:
    """Each city's rank over the Monte Carlo samples: median and the 90 % interval [p5, p95]."""

    samples: int
    median: IntArray
    p5: IntArray
    p95: IntArray


def perturbed_weights(weights: FloatArray, samples: int, rng: np.random.Generator, spread: float) -> FloatArray:
    """``samples`` × n weights: w_sj = w_j (1 + u_sj) / Σ_k w_k (1 + u_sk), u_sj ~ U(−spread, +spread) independent.

    Every weight varies by up to ±spread of itself before renormalisation; an indicator of weight 0 stays at 0.
    (A uniform perturbation of the weights, as in the uncertainty analysis of the OECD/JRC Handbook 2008.)"""
    if not 0.0 <= spread < 1.0:
        raise EvaluationError("权重扰动幅度应在 0 与 1 之间（不含 1）。")
    perturbed = weights * (1.0 + rng.uniform(-spread, spread, size=(samples, weights.size)))
    return np.asarray(perturbed / _row_sums(perturbed), dtype=np.float64)


def _percentile_ranks(counts: IntArray, samples: int, percent: int) -> IntArray:
    """The percent-th percentile of each city's rank from its rank histogram (cities × ranks): the smallest rank r
    with #(rank ≤ r) ≥ percent % of the samples (Hyndman & Fan 1996, definition 1 — always an attained rank)."""
    cumulative = np.cumsum(counts, axis=1)
    ranks: IntArray = np.argmax(cumulative * 100 >= percent * samples, axis=1).astype(np.int64) + 1
    return ranks


def _rank_histogram(score_chunks: Iterable[FloatArray], m: int) -> IntArray:
    counts = np.zeros(m * m, dtype=np.int64)
    cities = np.arange(m, dtype=np.int64) * m
    for chunk in score_chunks:
        ranks = _ranks_by_row(chunk)
        counts += np.bincount((cities + ranks - 1).ravel(), minlength=m * m)
    return counts.reshape(m, m)


def _uncertainty(counts: IntArray, samples: int) -> RankUncertainty:
    return RankUncertainty(
        samples=samples,
        median=_percentile_ranks(counts, samples, 50),
        p5=_percentile_ranks(counts, samples, 5),
        p95=_percentile_ranks(counts, samples, 95),
    )


def monte_carlo_ranks(
    x: FloatArray,
    direction: IntArray,
    weights: FloatArray,
    *,
    aggregation: str,
    samples: int,
    seed: int,
    spread: float = DEFAULT_SPREAD,
    normalisations: Sequence[str] = ("target",),
    targets: FloatArray | None = None,
    areas: Sequence[IntArray] | None = None,
) -> RankUncertainty:
    """Rank uncertainty under perturbed weights (and optionally the normalisation), vectorised over samples.

    Draws ``samples`` weight vectors by :func:`perturbed_weights` from ``numpy.random.default_rng(seed)`` and, when
    ``normalisations`` names K > 1 methods (e.g. ``("target", "rank")``), one of them per sample, uniformly
    (``Generator.integers(0, K)``, drawn after the weights). Each sample is scored as the scheme scores: the
    weighted arithmetic or geometric mean of the chosen normalisation (areas and missing values as
    :func:`weighted_arithmetic`), or TOPSIS on the raw values (which has its own normalisation: K must be 1), and
    ranked by :func:`rank_scores` (competition). Returns each city's median rank and its 5th–95th percentile.

    The samples are scored in chunks of :data:`CHUNK` with the indicator-ordered sums of ``_accumulate``; all
    draws are made up front, so the result depends on the seed alone — bit for bit — and not on the chunk size.
    """
    if samples < 1:
        raise EvaluationError("蒙特卡洛抽样次数应为正整数。")
    if aggregation not in AGGREGATIONS:
        raise EvaluationError(f"未知的汇总方法“{aggregation}”，可选：{'、'.join(AGGREGATIONS)}。")
    if not normalisations:
        raise EvaluationError("蒙特卡洛抽样至少需要一种标准化方法。")
    if aggregation == "topsis" and len(normalisations) > 1:
        raise EvaluationError("TOPSIS 按定义使用向量归一化，不能对标准化方法做蒙特卡洛抽样。")
    x = as_matrix(x)
    m, n = x.shape
    direction = as_direction(direction, n)
    parts = _one_area(n) if areas is None else areas
    rng = np.random.default_rng(seed)
    w = perturbed_weights(weights, samples, rng, spread)
    choice = rng.integers(0, len(normalisations), size=samples) if len(normalisations) > 1 else None

    if aggregation == "topsis":
        gaps = _topsis_gaps(x, direction)

        def score(rows: FloatArray) -> FloatArray:
            return _closeness(rows, gaps)[0]

        chunks = (score(w[start : start + CHUNK]) for start in range(0, samples, CHUNK))
        return _uncertainty(_rank_histogram(chunks, m), samples)

    matrices = []
    for method in normalisations:
        scores = normalise(x, direction, method, targets)
        present = ~np.isnan(scores)
        if aggregation == "geometric":
            floored = _floored(scores)
            matrices.append((np.log(floored), present, floored))
        else:
            matrices.append((scores, present, scores))

    def mixed(start: int) -> FloatArray:
        rows = w[start : start + CHUNK]
        picked = np.zeros(rows.shape[0], dtype=np.int64) if choice is None else choice[start : start + CHUNK]
        means = np.empty((rows.shape[0], m))
        for k, (values, present, scores) in enumerate(matrices):
            selected = np.flatnonzero(picked == k)
            if selected.size == rows.shape[0]:
                means = _hierarchical_mean(rows, values, present, parts)[0]
            elif selected.size:
                means[selected] = _hierarchical_mean(rows[selected], values, present, parts)[0]
            if aggregation == "geometric" and selected.size:
                means[selected] = _within(np.exp(means[selected]), scores, present)
        return means

    return _uncertainty(_rank_histogram((mixed(start) for start in range(0, samples, CHUNK)), m), samples)


# --- a whole evaluation ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Matrix:
    """The values an evaluation runs on (评估数据): one row per city, one column per indicator, NaN = missing."""

    cities: tuple[str, ...]
    indicators: tuple[str, ...]
    values: FloatArray


@dataclass(frozen=True)
class Scheme:
    """An evaluation scheme (评估方案) as data: what the analyst edits and the ministry approves.

    Per indicator (in the order of ``indicators``): ``direction`` (+1/−1), ``targets`` (None = no target; empty
    tuple = none at all), ``areas`` (the area code each indicator belongs to; empty = one area). Then the methods
    (:data:`NORMALISATIONS`, :data:`WEIGHTINGS`, :data:`AGGREGATIONS`), the explicit ``weights`` or the AHP
    ``pairwise`` matrix as the weighting needs, and the Monte Carlo settings (``mc_samples`` = 0: none;
    ``mc_normalisations``: further normalisations drawn with the scheme's own).
    """

    indicators: tuple[str, ...]
    direction: tuple[int, ...]
    targets: tuple[float | None, ...] = ()
    areas: tuple[str, ...] = ()
    normalisation: str = "target"
    weighting: str = "equal"
    weights: tuple[float, ...] = ()
    pairwise: tuple[tuple[float, ...], ...] = ()
    aggregation: str = "arithmetic"
    mc_samples: int = 0
    mc_seed: int = 0
    mc_spread: float = DEFAULT_SPREAD
    mc_normalisations: tuple[str, ...] = ()


@dataclass(frozen=True)
class Evaluation:
    """The result of :func:`evaluate`; arrays follow the order of ``cities`` and ``indicators``.

    ``scores`` are 0–100 for the arithmetic and geometric means of 0–100 scores (z-scores give a centred score),
    closeness 0–1 for TOPSIS. ``area_scores`` (cities × ``area_codes``) is None for TOPSIS, which has no area
    structure. ``missing[i, j]`` says city i had no value for indicator j; ``flagged`` the cities with any.
    ``explanation`` exists for the weighted arithmetic mean only, ``uncertainty`` when Monte Carlo was asked for.
    """

    cities: tuple[str, ...]
    indicators: tuple[str, ...]
    area_codes: tuple[str, ...]
    weights: FloatArray
    ahp: AhpResult | None
    normalised: FloatArray
    scores: FloatArray
    ranks: IntArray
    area_scores: FloatArray | None
    missing: BoolArray
    explanation: Explanation | None
    uncertainty: RankUncertainty | None
    fingerprint: str

    @property
    def flagged(self) -> BoolArray:
        return np.asarray(self.missing.any(axis=1), dtype=np.bool_)


def _canonical(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, (list, tuple)):
        return [_canonical(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _canonical(item) for key, item in value.items()}
    return value


def fingerprint(matrix: Matrix, scheme: Scheme) -> str:
    """SHA-256 (hex) of the canonical JSON of the values, the scheme and :data:`ENGINE_VERSION`.

    Canonical: keys sorted, no whitespace, UTF-8, floats in Python's shortest round-trip form (so equal floats give
    equal text), NaN and absent targets as null. Two runs with the same fingerprint compute the same result.
    """
    document = {
        "engine": ENGINE_VERSION,
        "matrix": {
            "cities": list(matrix.cities),
            "indicators": list(matrix.indicators),
            "values": _canonical(np.asarray(matrix.values, dtype=np.float64).tolist()),
        },
        "scheme": _canonical(asdict(scheme)),
    }
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _check(matrix: Matrix, scheme: Scheme) -> FloatArray:
    x = as_matrix(matrix.values)
    m, n = x.shape
    if len(matrix.cities) != m or len(matrix.indicators) != n:
        raise EvaluationError("城市名称、指标代码与数据矩阵的行列数不一致。")
    if len(set(matrix.cities)) != m:
        raise EvaluationError("城市名称有重复。")
    if scheme.indicators != matrix.indicators:
        raise EvaluationError("评估方案的指标与数据的指标不一致（代码和顺序都应相同）。")
    if scheme.targets and len(scheme.targets) != n:
        raise EvaluationError(f"目标值应为每项指标一个（共 {n} 项）。")
    if scheme.areas and len(scheme.areas) != n:
        raise EvaluationError(f"领域应为每项指标一个（共 {n} 项）。")
    for method in (scheme.normalisation, *scheme.mc_normalisations):
        if method not in NORMALISATIONS:
            raise EvaluationError(f"未知的标准化方法“{method}”，可选：{'、'.join(NORMALISATIONS)}。")
    if scheme.weighting not in WEIGHTINGS:
        raise EvaluationError(f"未知的赋权方法“{scheme.weighting}”，可选：{'、'.join(WEIGHTINGS)}。")
    if scheme.aggregation not in AGGREGATIONS:
        raise EvaluationError(f"未知的汇总方法“{scheme.aggregation}”，可选：{'、'.join(AGGREGATIONS)}。")
    if scheme.aggregation == "geometric" and "zscore" in (scheme.normalisation, *scheme.mc_normalisations):
        raise EvaluationError("加权几何平均要求得分不为负，不能与 Z 分数标准化同用。")
    if scheme.aggregation == "topsis" and scheme.mc_normalisations:
        raise EvaluationError("TOPSIS 按定义使用向量归一化，不能对标准化方法做蒙特卡洛抽样。")
    if scheme.mc_samples < 0:
        raise EvaluationError("蒙特卡洛抽样次数不能为负。")
    for j, code in enumerate(matrix.indicators):
        if np.isnan(x[:, j]).all():
            raise EvaluationError(f"指标 {code} 没有任何城市的数值。")
        target = scheme.targets[j] if scheme.targets else None
        if target is not None and not (math.isfinite(target) and target > 0):
            raise EvaluationError(f"指标 {code} 的目标值应为大于 0 的数，实际为 {target}。")
    return x


def _weights(x: FloatArray, direction: IntArray, scheme: Scheme) -> tuple[FloatArray, AhpResult | None]:
    n = x.shape[1]
    if scheme.weighting == "explicit":
        return as_weights(scheme.weights, n), None
    if scheme.weighting == "entropy":
        return entropy_weights(x, direction), None
    if scheme.weighting == "ahp":
        if len(scheme.pairwise) != n:
            raise EvaluationError(f"层次分析法的判断矩阵应为 {n} 阶（每项指标一行一列）。")
        result = ahp_weights(scheme.pairwise)
        return result.weights, result
    return equal_weights(n), None


def evaluate(matrix: Matrix, scheme: Scheme) -> Evaluation:
    """Evaluate every city of ``matrix`` by ``scheme``: weights, normalised scores, area and overall scores, ranks,
    the explanation (weighted arithmetic), the Monte Carlo rank intervals (when asked for) and the fingerprint.

    Refused (:class:`EvaluationError`): inconsistent input, an indicator without any value, a city without any
    available indicator of positive weight (its score would be undefined), AHP judgements with CR ≥ 0.1.
    """
    x = _check(matrix, scheme)
    n = x.shape[1]
    direction = as_direction(scheme.direction, n)
    targets = np.array([np.nan if t is None else t for t in scheme.targets] if scheme.targets else [np.nan] * n)
    area_codes = tuple(dict.fromkeys(scheme.areas)) if scheme.areas else ("",)
    areas = [
        np.array([j for j in range(n) if not scheme.areas or scheme.areas[j] == code], dtype=np.int64)
        for code in area_codes
    ]
    weights, ahp = _weights(x, direction, scheme)

    explanation = None
    if scheme.aggregation == "topsis":
        normalised = vector_normalise(x)
        scores = topsis(x, weights, direction).closeness
        area_scores = None
        # A city with no indicator of positive weight has D⁺ = D⁻ = 0 whatever it reports: its score is undefined.
        positive = ~np.isnan(x) & (weights > 0)
        scores = np.where(positive.any(axis=1), scores, np.nan)
    else:
        normalised = normalise(x, direction, scheme.normalisation, targets)
        aggregate = weighted_geometric if scheme.aggregation == "geometric" else weighted_arithmetic
        scores, area_scores = aggregate(normalised, weights, areas)
        if scheme.aggregation == "arithmetic":
            explanation = explain_arithmetic(normalised, weights, areas)
    unscored = np.flatnonzero(np.isnan(scores))
    if unscored.size:
        names = "、".join(matrix.cities[i] for i in unscored)
        raise EvaluationError(f"以下城市没有任何可用的（权重大于 0 的）指标数值，无法评分：{names}。")

    uncertainty = None
    if scheme.mc_samples:
        uncertainty = monte_carlo_ranks(
            x,
            direction,
            weights,
            aggregation=scheme.aggregation,
            samples=scheme.mc_samples,
            seed=scheme.mc_seed,
            spread=scheme.mc_spread,
            normalisations=(scheme.normalisation, *scheme.mc_normalisations),
            targets=targets,
            areas=areas,
        )
    return Evaluation(
        cities=matrix.cities,
        indicators=matrix.indicators,
        area_codes=area_codes if scheme.areas else (),
        weights=weights,
        ahp=ahp,
        normalised=normalised,
        scores=scores,
        ranks=rank_scores(scores),
        area_scores=area_scores if scheme.areas else None,
        missing=np.isnan(x),
        explanation=explanation,
        uncertainty=uncertainty,
        fingerprint=fingerprint(matrix, scheme),
    )
