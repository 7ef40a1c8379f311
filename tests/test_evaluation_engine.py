"""The evaluation engine: textbook examples to 6+ significant digits, the edge cases each method defines, the
missing-value rule, ranks, Monte Carlo reproducibility and properties that hold whatever the input."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from infocity.evaluation import engine
from infocity.evaluation.engine import EvaluationError, InconsistentJudgements, Matrix, Scheme

UP, DOWN = 1, -1


def directions(*values: int) -> engine.IntArray:
    return np.array(values, dtype=np.int64)


def matrix(*rows: Sequence[float]) -> engine.FloatArray:
    return np.array(rows, dtype=np.float64)


# --- entropy weights ------------------------------------------------------------------------------


def test_entropy_weights_by_hand() -> None:
    # Four cities, three indicators; BRIEF §7: x′ directional min–max, p = x′/Σx′, e = −(1/ln m) Σ p ln p, 0·ln0 = 0.
    # Column 1 (↑) 2, 4, 6, 10: x′ = 0, 1/4, 1/2, 1; Σ = 7/4; p = 0, 1/7, 2/7, 4/7;
    #   e₁ = (1/ln 4)(ln 7 − (2/7) ln 2 − (4/7) ln 4) = log₂7 / 2 − 5/7 = 0.689391746743…, 1 − e₁ = 12/7 − log₂7 / 2.
    # Column 2 (↓) 30, 10, 20, 20: x′ = (30 − x)/20 = 0, 1, 1/2, 1/2; Σ = 2; p = 0, 1/2, 1/4, 1/4;
    #   e₂ = (1/ln 4)((1/2) ln 2 + (1/2) ln 4) = (3/2 ln 2)/(2 ln 2) = 3/4 exactly, 1 − e₂ = 1/4.
    # Column 3 is constant: no information, e₃ = 1, w₃ = 0.
    # w = (1 − e)/Σ(1 − e).
    x = matrix([2, 30, 5], [4, 10, 5], [6, 20, 5], [10, 20, 5])
    d1 = 12 / 7 - math.log2(7) / 2
    expected = [d1 / (d1 + 0.25), 0.25 / (d1 + 0.25), 0.0]
    assert expected[0] == pytest.approx(0.5540557982377196, rel=1e-12)
    assert engine.entropy_weights(x, directions(UP, DOWN, UP)) == pytest.approx(expected, rel=1e-12)


def test_entropy_weights_use_each_columns_available_values() -> None:
    # A missing value is left out of its column (m_j = 3 there), never read as 0: the same weights as without
    # that city in column 1, and column 2 still uses all four cities.
    x = matrix([2, 30], [4, 10], [6, 20], [np.nan, 20])
    # Column 1 over 2, 4, 6: x′ = 0, 1/2, 1; p = 0, 1/3, 2/3; e₁ = (1/ln 3)(ln 3 − (2/3) ln 2).
    e1 = (math.log(3) - 2 / 3 * math.log(2)) / math.log(3)
    d1, d2 = 1 - e1, 0.25
    assert engine.entropy_weights(x, directions(UP, DOWN)) == pytest.approx([d1 / (d1 + d2), d2 / (d1 + d2)])


def test_entropy_weights_refuse_a_matrix_without_information() -> None:
    with pytest.raises(EvaluationError, match="熵权法无法确定权重"):
        engine.entropy_weights(matrix([1, 7], [1, 7], [1, 7]), directions(UP, UP))


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(
    x=hnp.arrays(np.float64, st.tuples(st.integers(2, 12), st.integers(1, 6)), elements=finite),
    data=st.data(),
)
def test_entropy_weights_sum_to_one_and_ignore_the_scale_of_a_column(x: engine.FloatArray, data: st.DataObject) -> None:
    n = x.shape[1]
    d = np.array(data.draw(st.lists(st.sampled_from([UP, DOWN]), min_size=n, max_size=n)), dtype=np.int64)
    spans = np.ptp(x, axis=0)
    # Columns that vary by a hair (or are constant) are another matter: keep a meaningful spread.
    assume((spans > 1e-3 * np.maximum(1.0, np.abs(x).max(axis=0))).any())
    assume(((spans == 0) | (spans > 1e-3 * np.maximum(1.0, np.abs(x).max(axis=0)))).all())
    w = engine.entropy_weights(x, d)
    assert (w >= 0).all()
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    column = data.draw(st.integers(0, n - 1))
    factor = data.draw(st.floats(min_value=1e-3, max_value=1e3))
    scaled = x.copy()
    scaled[:, column] *= factor
    assert engine.entropy_weights(scaled, d) == pytest.approx(w, rel=1e-9, abs=1e-12)


# --- AHP ------------------------------------------------------------------------------------------

# The criteria matrix (style, reliability, fuel economy) of the car example in Haas & Meixner, "An Illustrated Guide
# to the Analytic Hierarchy Process", and of the AHP example and test of the R package MCDA (CRAN).
CRITERIA: list[list[float]] = [[1, 1 / 2, 3], [2, 1, 4], [1 / 3, 1 / 4, 1]]
STYLE: list[list[float]] = [[1, 1 / 4, 4, 1 / 6], [4, 1, 4, 1 / 4], [1 / 4, 1 / 4, 1, 1 / 5], [6, 4, 5, 1]]
RELIABILITY: list[list[float]] = [[1, 2, 5, 1], [1 / 2, 1, 3, 2], [1 / 5, 1 / 3, 1, 1 / 4], [1, 1 / 2, 4, 1]]
FUEL: list[list[float]] = [[1, 2, 4, 1], [1 / 2, 1, 3, 2], [1 / 4, 1 / 3, 1, 1 / 5], [1, 1 / 2, 5, 1]]


def test_ahp_three_by_three_by_hand() -> None:
    # For a 3 × 3 reciprocal matrix with a₁₂ = a, a₁₃ = b, a₂₃ = c, the principal eigenvector is the vector of row
    # geometric means, w_i ∝ (Π_j a_ij)^(1/3), and λ_max = 1 + (b/(ac))^(1/3) + (ac/b)^(1/3) (Saaty 1980;
    # Crawford & Williams 1985). Here a = 1/2, b = 3, c = 4: b/(ac) = 3/2.
    lambda_max = 1 + 1.5 ** (1 / 3) + 1.5 ** (-1 / 3)  # 3.018294707…
    rows = [1.5 ** (1 / 3), 8 ** (1 / 3), (1 / 12) ** (1 / 3)]
    weights = [r / sum(rows) for r in rows]  # 0.319618264, 0.558424543, 0.121957193
    ci = (lambda_max - 3) / 2  # 0.009147354
    result = engine.ahp_weights(CRITERIA)
    assert result.weights == pytest.approx(weights, rel=1e-9)
    assert result.weights == pytest.approx([0.31961826, 0.55842454, 0.12195719], rel=1e-6)
    assert result.lambda_max == pytest.approx(lambda_max, rel=1e-12)
    assert result.ci == pytest.approx(ci, rel=1e-9)
    assert result.ri == 0.58
    assert result.cr == pytest.approx(ci / 0.58, rel=1e-9)
    assert result.cr == pytest.approx(0.0157713, rel=1e-5)


def test_ahp_reproduces_the_published_car_example() -> None:
    # MCDA (R, CRAN) tests its AHP on this hierarchy: overall priorities 0.2922, 0.2767, 0.0697, 0.3613 for Corsa,
    # Clio, Fiesta, Sandero (published to 4 decimals). That package does not check consistency; the style matrix
    # has CR ≈ 0.161, which our ahp_weights refuses (below), so the priorities are computed without the check.
    criteria = engine.analyse_pairwise(CRITERIA).weights
    local = [engine.analyse_pairwise(m).weights for m in (STYLE, RELIABILITY, FUEL)]
    overall = sum(c * w for c, w in zip(criteria, local, strict=True))
    assert overall == pytest.approx([0.2922, 0.2767, 0.0697, 0.3613], abs=5e-5)


def test_ahp_refuses_inconsistent_judgements_naming_the_cr() -> None:
    with pytest.raises(InconsistentJudgements, match=r"一致性比率 CR = 0\.1610，不小于 0\.1") as caught:
        engine.ahp_weights(STYLE)
    assert caught.value.cr == pytest.approx(0.16100, abs=1e-4)


@pytest.mark.parametrize(
    ("pairwise", "message"),
    [
        ([[1, 2], [2, 1]], "不是互反矩阵"),
        ([[1, 0], [0, 1]], "应为正数"),
        ([[2, 1], [1, 1]], "对角线"),
        ([[1, 2, 3], [0.5, 1, 1]], "方阵"),
        (np.ones((16, 16)).tolist(), "最多 15 阶"),
    ],
)
def test_ahp_checks_the_matrix(pairwise: list[list[float]], message: str) -> None:
    with pytest.raises(EvaluationError, match=message):
        engine.ahp_weights(pairwise)


def test_ahp_takes_rounded_reciprocals_as_the_exact_ones() -> None:
    rounded: list[list[float]] = [[1, 3, 5], [0.333, 1, 2], [0.2, 0.5, 1]]
    exact: list[list[float]] = [[1, 3, 5], [1 / 3, 1, 2], [1 / 5, 1 / 2, 1]]
    assert engine.ahp_weights(rounded).weights == pytest.approx(engine.ahp_weights(exact).weights, rel=1e-12)


@pytest.mark.parametrize("n", [1, 2])
def test_ahp_of_one_or_two_criteria_is_always_consistent(n: int) -> None:
    result = engine.ahp_weights([[1.0]] if n == 1 else [[1, 4], [1 / 4, 1]])
    assert result.cr == 0.0
    assert result.weights == pytest.approx([1.0] if n == 1 else [0.8, 0.2])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=0.1, max_value=10.0), min_size=1, max_size=15))
def test_ahp_of_a_consistent_matrix_gives_its_generating_weights(generating: list[float]) -> None:
    w = np.array(generating)
    result = engine.ahp_weights(w[:, np.newaxis] / w[np.newaxis, :])
    assert result.weights == pytest.approx(w / w.sum(), rel=1e-9)
    assert result.cr == pytest.approx(0.0, abs=1e-9)
    assert result.lambda_max == pytest.approx(len(generating), rel=1e-9)


# --- TOPSIS ---------------------------------------------------------------------------------------

# Hodgett, "TOPSIS in Excel" (hodgett.co.uk/topsis-in-excel), the example and test of TOPSIS in the R package MCDA:
# cars Corsa, Clio, Fiesta; purchase price (cost), economy, aesthetics, boot capacity; weights .35, .25, .25, .15.
CARS = matrix([5490, 51.4, 8.5, 285], [6500, 70.6, 7, 288], [6489, 54.3, 7.5, 290])
CAR_WEIGHTS = np.array([0.35, 0.25, 0.25, 0.15])
CAR_DIRECTIONS = directions(DOWN, UP, UP, UP)


def topsis_by_hand(rows: list[list[float]], weights: list[float], direction: list[int]) -> list[float]:
    """Hwang & Yoon's steps, literally, one number at a time."""
    m, n = len(rows), len(weights)
    norms = [math.sqrt(sum(rows[i][j] ** 2 for i in range(m))) for j in range(n)]
    v = [[weights[j] * rows[i][j] / norms[j] for j in range(n)] for i in range(m)]
    columns = [[v[i][j] for i in range(m)] for j in range(n)]
    ideal = [max(c) if d > 0 else min(c) for c, d in zip(columns, direction, strict=True)]
    anti = [min(c) if d > 0 else max(c) for c, d in zip(columns, direction, strict=True)]
    closeness = []
    for i in range(m):
        d_plus = math.sqrt(sum((v[i][j] - ideal[j]) ** 2 for j in range(n)))
        d_minus = math.sqrt(sum((v[i][j] - anti[j]) ** 2 for j in range(n)))
        closeness.append(d_minus / (d_plus + d_minus))
    return closeness


def test_topsis_reproduces_the_published_car_example() -> None:
    result = engine.topsis(CARS, CAR_WEIGHTS, CAR_DIRECTIONS)
    # The ideal and anti-ideal points as published (9 decimals).
    assert result.ideal == pytest.approx([0.179573776, 0.171636015, 0.159499658, 0.087302767], rel=1e-6)
    assert result.anti_ideal == pytest.approx([0.212610118, 0.124958799, 0.131352659, 0.085797547], rel=1e-6)
    # The closeness as published (4 decimals) …
    assert result.closeness == pytest.approx([0.4817, 0.5182, 0.1780], abs=5e-5)
    # … and to full precision, from the textbook steps done one number at a time.
    by_hand = topsis_by_hand(CARS.tolist(), CAR_WEIGHTS.tolist(), CAR_DIRECTIONS.tolist())
    assert by_hand == pytest.approx([0.481685290, 0.518207666, 0.177955362], rel=1e-6)
    assert result.closeness == pytest.approx(by_hand, rel=1e-12)


def test_topsis_measures_a_city_with_a_missing_value_on_its_available_indicators() -> None:
    x = CARS.copy()
    x[2, 0] = np.nan
    result = engine.topsis(x, CAR_WEIGHTS, CAR_DIRECTIONS)
    # Price: ideal and anti-ideal from Corsa and Clio only (normalised over their two prices).
    norm = math.hypot(5490, 6500)
    assert result.ideal[0] == pytest.approx(0.35 * 5490 / norm)
    assert result.anti_ideal[0] == pytest.approx(0.35 * 6500 / norm)
    # Fiesta's distances run over the three other indicators: the TOPSIS of those alone, for Fiesta.
    others = engine.topsis(CARS[:, 1:], CAR_WEIGHTS[1:], CAR_DIRECTIONS[1:])
    assert result.closeness[2] == pytest.approx(others.closeness[2], rel=1e-12)
    assert not np.isnan(result.closeness).any()


def test_topsis_defines_a_cohort_without_differences() -> None:
    result = engine.topsis(matrix([3, 5], [3, 5]), np.array([0.5, 0.5]), directions(UP, DOWN))
    assert result.closeness.tolist() == [0.5, 0.5]


Problem = tuple[engine.FloatArray, engine.FloatArray, engine.IntArray]


@st.composite
def decision_problems(draw: st.DrawFn) -> Problem:
    m = draw(st.integers(2, 8))
    n = draw(st.integers(1, 5))
    x = draw(hnp.arrays(np.float64, (m, n), elements=st.floats(min_value=0, max_value=1e4)))
    w = np.array(draw(st.lists(st.floats(min_value=0.01, max_value=1.0), min_size=n, max_size=n)))
    d = np.array(draw(st.lists(st.sampled_from([UP, DOWN]), min_size=n, max_size=n)), dtype=np.int64)
    return x, w / w.sum(), d


@settings(max_examples=300, deadline=None)
@given(decision_problems())
def test_topsis_closeness_lies_between_zero_and_one(problem: Problem) -> None:
    x, w, d = problem
    closeness = engine.topsis(x, w, d).closeness
    assert ((closeness >= 0) & (closeness <= 1)).all()


@settings(max_examples=300, deadline=None)
@given(decision_problems(), st.data())
def test_topsis_a_city_improving_on_a_benefit_indicator_never_loses_closeness(
    problem: Problem, data: st.DataObject
) -> None:
    x, w, d = problem
    m, n = x.shape
    d = d.copy()
    city = data.draw(st.integers(0, m - 1))
    benefit = data.draw(st.sampled_from(range(n)))
    d[benefit] = UP
    better = x.copy()
    better[city, benefit] += data.draw(st.floats(min_value=0.001, max_value=1e4))
    before = engine.topsis(x, w, d).closeness[city]
    after = engine.topsis(better, w, d).closeness[city]
    assert after >= before - 1e-12


# --- normalisation --------------------------------------------------------------------------------


def test_distance_to_target_caps_at_100_and_defines_non_positive_values() -> None:
    x = matrix([60, 4], [120, 2], [0, 0], [-5, -1], [np.nan, 8])
    scores = engine.distance_to_target(x, directions(UP, DOWN), np.array([80.0, 4.0]))
    np.testing.assert_allclose(scores, matrix([75, 100], [100, 100], [0, 100], [0, 100], [np.nan, 50]))


def test_distance_to_target_needs_positive_targets() -> None:
    with pytest.raises(EvaluationError, match="大于 0 的目标值"):
        engine.distance_to_target(matrix([1.0]), directions(UP), np.array([0.0]))


def test_min_max_is_directional_and_gives_a_constant_column_100() -> None:
    x = matrix([10, 1, 5], [20, 3, 5], [15, np.nan, 5], [30, 2, 5])
    np.testing.assert_allclose(
        engine.min_max(x, directions(UP, DOWN, UP)),
        matrix([0, 100, 100], [50, 0, 100], [25, np.nan, 100], [100, 50, 100]),
    )


def test_z_score_uses_the_population_standard_deviation() -> None:
    # 2, 4, 4, 4, 5, 5, 7, 9: mean 5, population σ 2.
    x = matrix(*[[v] for v in (2, 4, 4, 4, 5, 5, 7, 9)])
    assert engine.z_score(x, directions(UP))[:, 0] == pytest.approx([-1.5, -0.5, -0.5, -0.5, 0, 0, 1, 2])
    assert engine.z_score(x, directions(DOWN))[0, 0] == pytest.approx(1.5)
    assert engine.z_score(matrix([3], [3]), directions(UP))[:, 0].tolist() == [0.0, 0.0]


def test_rank_normalisation_averages_ties() -> None:
    # Ascending ranks of 10, 20, 20, 40 are 1, 2.5, 2.5, 4 → 100 (r − 1)/3.
    x = matrix([10], [20], [20], [40], [np.nan])
    np.testing.assert_allclose(engine.rank_normalise(x, directions(UP))[:, 0], [0, 50, 50, 100, np.nan])
    np.testing.assert_allclose(engine.rank_normalise(x, directions(DOWN))[:, 0], [100, 50, 50, 0, np.nan])


def test_vector_normalisation() -> None:
    np.testing.assert_allclose(engine.vector_normalise(matrix([3, 0], [4, 0]))[:, 0], [0.6, 0.8])
    assert engine.vector_normalise(matrix([3, 0], [4, 0]))[:, 1].tolist() == [0.0, 0.0]


def test_the_2016_default_uses_targets_where_given_and_min_max_elsewhere() -> None:
    x = matrix([40, 1], [100, 3])
    targets = np.array([80.0, np.nan])
    np.testing.assert_allclose(engine.normalise(x, directions(UP, UP), "target", targets), matrix([50, 0], [100, 100]))


# --- aggregation and the missing-value rule -------------------------------------------------------


def test_weighted_means_by_hand() -> None:
    s = matrix([100, 25], [0, 100])
    w = np.array([0.5, 0.5])
    assert engine.weighted_arithmetic(s, w)[0] == pytest.approx([62.5, 50.0])
    # √(100 · 25) = 50; a zero counts as the floor of 1 point: √(1 · 100) = 10.
    assert engine.weighted_geometric(s, w)[0] == pytest.approx([50.0, 10.0])


def test_a_missing_indicator_re_scales_the_weights_of_the_available_ones() -> None:
    s = matrix([80, 60, 40], [80, np.nan, 40])
    w = np.array([0.5, 0.3, 0.2])
    overall, _ = engine.weighted_arithmetic(s, w)
    assert overall[0] == pytest.approx(0.5 * 80 + 0.3 * 60 + 0.2 * 40)
    assert overall[1] == pytest.approx((0.5 * 80 + 0.2 * 40) / 0.7)


def test_a_missing_indicator_is_replaced_within_its_area() -> None:
    # Areas A = {0, 1} (weight 0.8), B = {2} (weight 0.2); the second city misses indicator 1: area A uses
    # indicator 0 alone and keeps its weight 0.8.
    s = matrix([80, 60, 40], [80, np.nan, 40], [np.nan, np.nan, 40])
    w = np.array([0.5, 0.3, 0.2])
    areas = [np.array([0, 1]), np.array([2])]
    overall, by_area = engine.weighted_arithmetic(s, w, areas)
    assert by_area[1].tolist() == pytest.approx([80.0, 40.0])
    assert overall[1] == pytest.approx(0.8 * 80 + 0.2 * 40)
    # No indicator of area A at all: area A has no score and area B stands for the city.
    assert np.isnan(by_area[2, 0])
    assert overall[2] == pytest.approx(40.0)


def test_evaluate_flags_the_cities_with_missing_values() -> None:
    data = Matrix(("甲", "乙", "丙"), ("A01", "A02"), matrix([90, 50], [80, np.nan], [70, 30]))
    result = engine.evaluate(data, Scheme(indicators=("A01", "A02"), direction=(1, 1), normalisation="minmax"))
    assert result.flagged.tolist() == [False, True, False]
    assert result.missing.tolist() == [[False, False], [False, True], [False, False]]
    # 乙's score is its A01 score alone (re-scaled weight 1), never a 0 for A02.
    assert result.scores.tolist() == pytest.approx([100.0, 50.0, 0.0])


def test_evaluate_refuses_a_city_without_any_value() -> None:
    data = Matrix(("甲", "乙"), ("A01",), matrix([90], [np.nan]))
    with pytest.raises(EvaluationError, match="无法评分：乙"):
        engine.evaluate(data, Scheme(indicators=("A01",), direction=(1,)))


def test_evaluate_refuses_an_indicator_without_any_value() -> None:
    data = Matrix(("甲", "乙"), ("A01", "A02"), matrix([90, np.nan], [80, np.nan]))
    with pytest.raises(EvaluationError, match="指标 A02 没有任何城市的数值"):
        engine.evaluate(data, Scheme(indicators=("A01", "A02"), direction=(1, 1)))


def test_geometric_aggregation_refuses_z_scores() -> None:
    data = Matrix(("甲", "乙"), ("A01",), matrix([90], [80]))
    with pytest.raises(EvaluationError, match="Z 分数"):
        engine.evaluate(data, Scheme(("A01",), (1,), normalisation="zscore", aggregation="geometric"))


def test_evaluate_refuses_inconsistent_ahp_judgements() -> None:
    data = Matrix(("甲", "乙"), ("a", "b", "c", "d"), matrix([1, 2, 3, 4], [4, 3, 2, 1]))
    scheme = Scheme(("a", "b", "c", "d"), (1, 1, 1, 1), weighting="ahp", pairwise=tuple(tuple(row) for row in STYLE))
    with pytest.raises(InconsistentJudgements, match=r"CR = 0\.1610"):
        engine.evaluate(data, scheme)


# --- explanation ----------------------------------------------------------------------------------


def test_an_arithmetic_score_is_the_sum_of_its_contributions() -> None:
    s = matrix([80, 60, 40], [80, np.nan, 40], [20, 90, 70])
    w = np.array([0.5, 0.3, 0.2])
    areas = [np.array([0, 1]), np.array([2])]
    overall, _ = engine.weighted_arithmetic(s, w, areas)
    parts = engine.explain_arithmetic(s, w, areas)
    assert parts.contributions.sum(axis=1) == pytest.approx(overall, rel=1e-12)
    assert parts.difference.sum(axis=1) == pytest.approx(overall - overall.mean(), abs=1e-9)
    assert parts.effective_weights[1].tolist() == pytest.approx([0.8, 0.0, 0.2])
    assert parts.contributions[1, 1] == 0.0


# --- ranks and rank agreement ---------------------------------------------------------------------


def test_competition_and_dense_ranking() -> None:
    scores = [70.0, 90.0, 80.0, 90.0, 60.0]
    assert engine.rank_scores(scores).tolist() == [4, 1, 3, 1, 5]  # "1224"
    assert engine.rank_scores(scores, "dense").tolist() == [3, 1, 2, 1, 4]


@given(st.lists(st.floats(allow_nan=False), min_size=1, max_size=50, unique=True))
def test_ranks_of_distinct_scores_are_a_permutation(scores: list[float]) -> None:
    ranks = engine.rank_scores(scores)
    assert sorted(ranks.tolist()) == list(range(1, len(scores) + 1))
    assert np.argsort(ranks).tolist() == np.argsort(-np.array(scores), kind="stable").tolist()


def test_spearman_without_ties_is_the_textbook_formula() -> None:
    a = [86, 97, 99, 100, 101, 103, 106, 110, 112, 113]
    b = [2, 20, 28, 27, 50, 29, 7, 17, 6, 12]
    # Σd² of the ranks = 194 → ρ = 1 − 6·194 / (10·99) = −0.175757…
    assert engine.spearman_rho(a, b) == pytest.approx(1 - 6 * 194 / (10 * 99), rel=1e-12)


def test_kendall_tau_b_with_ties_by_hand() -> None:
    # Pairs of (1,2,2,3) and (1,2,3,3): 4 concordant, 0 discordant, one tied in each; τ_b = 4/√(5·5) = 0.8.
    assert engine.kendall_tau_b([1, 2, 2, 3], [1, 2, 3, 3]) == pytest.approx(0.8, rel=1e-12)
    assert engine.kendall_tau_b([1, 2, 3], [3, 2, 1]) == -1.0
    assert math.isnan(engine.kendall_tau_b([1, 1, 1], [1, 2, 3]))
    # Spearman with ties: Pearson's r of the average ranks (1, 2.5, 2.5, 4) and (1, 2, 3.5, 3.5); centred,
    # (−1.5, 0, 0, 1.5) and (−1.5, −0.5, 1, 1): Σ products 3.75, Σ squares 4.5 and 4.5 → ρ = 3.75 / 4.5 = 5/6.
    assert engine.spearman_rho([1, 2, 2, 3], [1, 2, 3, 3]) == pytest.approx(5 / 6, rel=1e-12)


# --- Monte Carlo ----------------------------------------------------------------------------------


def cohort(m: int = 30, n: int = 8, seed: int = 7) -> tuple[engine.FloatArray, engine.IntArray, engine.FloatArray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(1, 100, size=(m, n))
    x[rng.random(size=x.shape) < 0.05] = np.nan
    d = np.where(rng.random(n) < 0.7, UP, DOWN).astype(np.int64)
    return x, d, engine.equal_weights(n)


@pytest.mark.parametrize("aggregation", ["arithmetic", "geometric", "topsis"])
def test_monte_carlo_is_reproducible_bit_for_bit(aggregation: str, monkeypatch: pytest.MonkeyPatch) -> None:
    x, d, w = cohort()

    def run() -> engine.RankUncertainty:
        return engine.monte_carlo_ranks(
            x, d, w, aggregation=aggregation, samples=500, seed=11, normalisations=("minmax",)
        )

    first = run()
    monkeypatch.setattr(engine, "CHUNK", 7)  # other chunks, the same draws
    second = run()
    for field in ("median", "p5", "p95"):
        assert getattr(first, field).tobytes() == getattr(second, field).tobytes()
    assert (first.p5 <= first.median).all()
    assert (first.median <= first.p95).all()


@pytest.mark.parametrize("aggregation", ["arithmetic", "geometric"])
def test_monte_carlo_equals_a_sample_by_sample_loop(aggregation: str) -> None:
    x, d, w = cohort(m=12, n=5)
    areas = [np.array([0, 1, 2]), np.array([3, 4])]
    samples = 200
    result = engine.monte_carlo_ranks(
        x, d, w, aggregation=aggregation, samples=samples, seed=3, normalisations=("minmax", "rank"), areas=areas
    )
    aggregate = engine.weighted_geometric if aggregation == "geometric" else engine.weighted_arithmetic
    rng = np.random.default_rng(3)
    weights = engine.perturbed_weights(w, samples, rng, engine.DEFAULT_SPREAD)
    choice = rng.integers(0, 2, size=samples)
    normalised = [engine.min_max(x, d), engine.rank_normalise(x, d)]
    ranks = np.array(
        [engine.rank_scores(aggregate(normalised[choice[s]], weights[s], areas)[0]) for s in range(samples)]
    )
    # Hyndman & Fan definition 1: the smallest attained rank with at least p of the samples at or below it.
    for percent, got in ((5, result.p5), (50, result.median), (95, result.p95)):
        expected = np.sort(ranks, axis=0)[math.ceil(percent / 100 * samples) - 1]
        assert got.tolist() == expected.tolist()


def test_monte_carlo_without_spread_keeps_every_rank() -> None:
    x, d, w = cohort()
    base = engine.rank_scores(engine.weighted_arithmetic(engine.min_max(x, d), w)[0])
    result = engine.monte_carlo_ranks(
        x, d, w, aggregation="arithmetic", samples=50, seed=1, spread=0.0, normalisations=("minmax",)
    )
    assert result.median.tolist() == result.p5.tolist() == result.p95.tolist() == base.tolist()


def test_perturbed_weights_stay_within_the_spread_and_sum_to_one() -> None:
    w = np.array([0.5, 0.3, 0.2, 0.0])
    sampled = engine.perturbed_weights(w, 10_000, np.random.default_rng(0), 0.25)
    assert sampled.sum(axis=1) == pytest.approx(np.ones(10_000))
    assert (sampled[:, 3] == 0).all()
    ratio = sampled[:, :3] / w[:3]
    assert ratio.min() > 0.75 / 1.25 - 1e-12
    assert ratio.max() < 1.25 / 0.75 + 1e-12


# --- determinism and the fingerprint --------------------------------------------------------------

SMALL = Matrix(("甲", "乙", "丙"), ("A01", "A02"), matrix([90, 50], [80, np.nan], [70, 30]))
SMALL_SCHEME = Scheme(("A01", "A02"), (1, -1), targets=(100.0, None), weighting="entropy", mc_samples=100)


def test_the_same_inputs_give_bit_identical_results() -> None:
    first = engine.evaluate(SMALL, SMALL_SCHEME)
    second = engine.evaluate(
        Matrix(SMALL.cities, SMALL.indicators, SMALL.values.copy()), dataclasses.replace(SMALL_SCHEME)
    )
    assert first.fingerprint == second.fingerprint
    for field in ("weights", "normalised", "scores", "ranks", "missing"):
        assert getattr(first, field).tobytes() == getattr(second, field).tobytes()
    assert first.uncertainty is not None and second.uncertainty is not None
    assert first.uncertainty.median.tobytes() == second.uncertainty.median.tobytes()


def test_the_fingerprint_is_sha256_of_the_canonical_inputs() -> None:
    # Pinned: a change here means frozen runs can no longer be re-identified — bump ENGINE_VERSION with it.
    assert engine.fingerprint(SMALL, SMALL_SCHEME) == (
        "43f87dac9e7b46a59fe1b8f48507ac5fff22eb957736dc675e2398db71406c48"
    )


def test_the_fingerprint_changes_with_any_input() -> None:
    base = engine.fingerprint(SMALL, SMALL_SCHEME)
    changed = SMALL.values.copy()
    changed[0, 0] = 90.000001
    assert engine.fingerprint(Matrix(SMALL.cities, SMALL.indicators, changed), SMALL_SCHEME) != base
    assert engine.fingerprint(SMALL, dataclasses.replace(SMALL_SCHEME, mc_seed=1)) != base
    assert engine.fingerprint(SMALL, dataclasses.replace(SMALL_SCHEME, normalisation="rank")) != base


def test_vector_normalisation_keeps_its_precision_with_tiny_values() -> None:
    """Found by the property above: squaring 9.25e-159 underflows, and an improving city lost closeness."""
    x = matrix([9.25188491e-159, 0.0], [0.0, 1.0])
    np.testing.assert_allclose(engine.vector_normalise(x), matrix([1.0, 0.0], [0.0, 1.0]), rtol=0, atol=1e-15)
    w, d = np.array([0.5, 0.5]), directions(UP, UP)
    before = engine.topsis(x, w, d).closeness[0]
    after = engine.topsis(matrix([1.0, 0.0], [0.0, 1.0]), w, d).closeness[0]
    assert after >= before - 1e-12
