"""Analytical methods, each pinned to its textbook definition (shown to users on the dictionary pages).

Progress toward a target (after the UN ESCAP / Open SDG "progress assessment"):
    observed growth  CAGR_obs = (x_t / x_0) ** (1 / (t − t₀)) − 1        (t in years)
    required growth  CAGR_req = (x_T / x_0) ** (1 / (T − t₀)) − 1        (x_T the target, T the target date)
    ratio            r = CAGR_obs / CAGR_req
    on track r ≥ 0.95 · acceleration needed 0.6 ≤ r < 0.95 · limited 0 ≤ r < 0.6 · deteriorating r < 0
For "lower is better" indicators both growth rates are taken of the reciprocals. A target already met counts as
on track. The anticipated value at the target date comes from a time-weighted least-squares line (weight of the
i-th of n observations = i, so recent periods count more).

Outliers across peer cities (for one indicator and period):
    z-score       z = (x − mean) / sd                      flagged when |z| > 3
    modified z    M = 0.6745 · (x − median) / MAD          flagged when |M| > 3.5   (Iglewicz & Hoaglin)
    change        c = x / x_previous − 1                   flagged when |c| > 30 %
"""

from __future__ import annotations

import datetime
import math
import statistics
from dataclasses import dataclass

ON_TRACK, ACCELERATE, LIMITED, DETERIORATING = "on_track", "accelerate", "limited", "deteriorating"
PROGRESS_LABELS = {
    ON_TRACK: "进展顺利",
    ACCELERATE: "需要加快",
    LIMITED: "进展有限",
    DETERIORATING: "出现倒退",
}
Z_LIMIT, MODIFIED_Z_LIMIT, CHANGE_LIMIT = 3.0, 3.5, 0.3


@dataclass(frozen=True)
class Progress:
    status: str
    ratio: float | None
    observed: float | None
    required: float | None
    anticipated: float | None

    @property
    def label(self) -> str:
        return PROGRESS_LABELS[self.status]


def _years(start: datetime.date, end: datetime.date) -> float:
    return (end - start).days / 365.25


def _meets(value: float, operator: str, target: float) -> bool:
    return {">": value > target, ">=": value >= target, "=": value >= target, "<=": value <= target,
            "<": value < target}[operator]  # fmt: skip


def anticipated_value(series: list[tuple[datetime.date, float]], at: datetime.date) -> float | None:
    """The value at ``at`` on a weighted least-squares line through the series (weights 1, 2, …, n)."""
    if len(series) < 2:
        return None
    xs = [_years(series[0][0], day) for day, _ in series]
    ys = [value for _, value in series]
    ws = list(range(1, len(series) + 1))
    total = sum(ws)
    mx = sum(w * x for w, x in zip(ws, xs, strict=True)) / total
    my = sum(w * y for w, y in zip(ws, ys, strict=True)) / total
    sxx = sum(w * (x - mx) ** 2 for w, x in zip(ws, xs, strict=True))
    if sxx == 0:
        return None
    slope = sum(w * (x - mx) * (y - my) for w, x, y in zip(ws, xs, ys, strict=True)) / sxx
    return my + slope * (_years(series[0][0], at) - mx)


def assess_progress(
    series: list[tuple[datetime.date, float]],
    target: float,
    operator: str,
    target_date: datetime.date,
    higher_is_better: bool = True,
) -> Progress | None:
    """Progress of a series of (date, value) toward ``target`` by ``target_date``; None with fewer than two
    observations or non-positive values (growth rates are undefined)."""
    if len(series) < 2:
        return None
    (t0, x0), (t, xt) = series[0], series[-1]
    anticipated = anticipated_value(series, target_date)
    if _meets(xt, operator, target):
        return Progress(ON_TRACK, None, None, None, anticipated)
    if x0 <= 0 or xt <= 0 or target <= 0 or _years(t0, t) <= 0 or _years(t0, target_date) <= 0:
        return None
    if not higher_is_better:
        x0, xt, target = 1 / x0, 1 / xt, 1 / target
    observed = (xt / x0) ** (1 / _years(t0, t)) - 1
    required = (target / x0) ** (1 / _years(t0, target_date)) - 1
    if required <= 0:
        return Progress(ON_TRACK if observed >= 0 else DETERIORATING, None, observed, required, anticipated)
    ratio = observed / required
    if ratio >= 0.95:
        status = ON_TRACK
    elif ratio >= 0.6:
        status = ACCELERATE
    elif ratio >= 0:
        status = LIMITED
    else:
        status = DETERIORATING
    return Progress(status, ratio, observed, required, anticipated)


@dataclass(frozen=True)
class Flag:
    key: int
    method: str  # "z", "modified_z", "change"
    score: float
    detail: str


def outliers(values: dict[int, float], previous: dict[int, float] | None = None) -> list[Flag]:
    """Values that stand out among peers (z, modified z) or against their own previous period (change)."""
    flags: list[Flag] = []
    numbers = list(values.values())
    if len(numbers) >= 5:
        mean = statistics.fmean(numbers)
        sd = statistics.pstdev(numbers)
        median = statistics.median(numbers)
        mad = statistics.median(abs(x - median) for x in numbers)
        for key, x in values.items():
            if sd > 0:
                z = (x - mean) / sd
                if abs(z) > Z_LIMIT:
                    flags.append(Flag(key, "z", z, f"z = {z:.2f}（平均 {mean:,.2f}，标准差 {sd:,.2f}）"))
            if mad > 0:
                m = 0.6745 * (x - median) / mad
                if abs(m) > MODIFIED_Z_LIMIT:
                    flags.append(
                        Flag(key, "modified_z", m, f"修正 z = {m:.2f}（中位数 {median:,.2f}，MAD {mad:,.2f}）")
                    )
    for key, x in values.items():
        before = (previous or {}).get(key)
        if before is not None and before != 0 and not math.isclose(before, 0):
            change = x / before - 1
            if abs(change) > CHANGE_LIMIT:
                flags.append(Flag(key, "change", change, f"较上期 {before:,.2f} 变化 {change * 100:+.1f}%"))
    return flags
