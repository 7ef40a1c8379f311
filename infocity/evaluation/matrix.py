"""``evaluate_matrix``: the evaluation engine on a CSV file, for analysts working outside the platform.

The same engine as the platform's evaluation runs (:mod:`infocity.evaluation.engine`), on a matrix of cities ×
indicators. Runs as ``manage.py evaluate_matrix`` or, without Django, ``python -m infocity.evaluation.matrix``.

The input file (UTF-8, with or without BOM; a file saved by a Chinese Excel in GB18030/GBK is read as such)::

    城市,A01,A02,A04,C06,F05      row 1: any label, then the indicator codes
    direction,1,1,1,1,1           方向 (required): 1 or +1 higher is better (正向), -1 lower is better (逆向)
    target,100,50,70,,20          目标值 (optional): empty = no target (min–max within the cohort instead)
    area,A,A,A,C,F                领域 (optional): the area of each indicator, for area scores
    示例甲市,98.5,62.1,71.2,,24   then one row per city; an empty cell or NA = missing (never read as 0)

The rows ``direction``/``target``/``area`` (or 方向/目标值/领域) may come in any order; every other row is a city.
Explicit weights (``--weights explicit:FILE``) are a two-column file ``indicator,weight`` (header optional; any
positive scale, normalised to sum to 1). AHP (``--weights ahp:FILE``) takes the pairwise comparison matrix with the
indicator codes as its first row and first column, in any order; entries may be fractions such as ``1/3``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from . import engine
from .engine import EvaluationError

HEADER_ROWS = {
    "direction": "direction",
    "方向": "direction",
    "target": "target",
    "目标值": "target",
    "area": "area",
    "领域": "area",
}
MISSING = {"", "na", "n/a"}
DIRECTIONS = {"1": 1, "+1": 1, "正向": 1, "-1": -1, "−1": -1, "逆向": -1}
DEFAULT_SEED = 2016


@dataclass(frozen=True)
class MatrixFile:
    """A parsed input file: the values and the indicators' direction, targets and areas."""

    matrix: engine.Matrix
    direction: tuple[int, ...]
    targets: tuple[float | None, ...]
    areas: tuple[str, ...]


def _read_rows(path: Path) -> list[list[str]]:
    try:
        data = path.read_bytes()
    except FileNotFoundError as error:
        raise EvaluationError(f"找不到文件：{path}") from error
    except OSError as error:
        raise EvaluationError(f"无法读取文件 {path}：{error.strerror}") from error
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError as error:
            raise EvaluationError(f"文件 {path} 既不是 UTF-8 也不是 GB18030 编码，请另存为 UTF-8 CSV。") from error
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:
        raise EvaluationError(f"文件 {path} 不是有效的 CSV：{error}") from error
    return [[cell.strip() for cell in row] for row in rows if any(cell.strip() for cell in row)]


def _fit(row: list[str], width: int, path: Path, line: int) -> list[str]:
    """The row's first ``width`` cells; blank cells beyond them (left by spreadsheets) are ignored."""
    if len(row) < width or any(row[width:]):
        raise EvaluationError(f"{path} 第 {line} 行有 {len(row)} 列，应为 {width} 列（与第 1 行相同）。")
    return row[:width]


def _number(cell: str, what: str) -> float:
    """A finite decimal number, or a fraction such as 1/3."""
    try:
        value = float(Fraction(cell)) if "/" in cell else float(cell)
    except (ValueError, ZeroDivisionError) as error:
        raise EvaluationError(f"{what}“{cell}”不是数值。") from error
    if not math.isfinite(value):
        raise EvaluationError(f"{what}“{cell}”不是有限的数值。")
    return value


def read_matrix(path: Path) -> MatrixFile:
    """Read the input CSV (layout in the module docstring); every problem is an :class:`EvaluationError`."""
    rows = _read_rows(path)
    if not rows:
        raise EvaluationError(f"文件 {path} 是空的。")
    header = rows[0]
    codes = tuple(header[1:])
    if not codes or any(not code for code in codes):
        raise EvaluationError(f"{path} 第 1 行应为：第一格任意（如“城市”），其后每格一个指标代码，不能为空。")
    duplicated = sorted({code for code in codes if codes.count(code) > 1})
    if duplicated:
        raise EvaluationError(f"{path} 第 1 行的指标代码有重复：{'、'.join(duplicated)}。")
    width = len(header)
    special: dict[str, tuple[int, list[str]]] = {}
    cities: list[str] = []
    values: list[list[float]] = []
    for line, raw in enumerate(rows[1:], start=2):
        row = _fit(raw, width, path, line)
        kind = HEADER_ROWS.get(row[0].lower())
        if kind is not None:
            if kind in special:
                raise EvaluationError(f"{path} 第 {line} 行：“{row[0]}”行重复出现（第 {special[kind][0]} 行已有）。")
            special[kind] = (line, row[1:])
            continue
        if not row[0]:
            raise EvaluationError(f"{path} 第 {line} 行缺少城市名称（第一格）。")
        if row[0] in cities:
            raise EvaluationError(f"{path} 第 {line} 行：城市“{row[0]}”重复出现。")
        cities.append(row[0])
        values.append(
            [
                math.nan if cell.lower() in MISSING else _number(cell, f"第 {line} 行（{row[0]}）指标 {code} 的数值")
                for code, cell in zip(codes, row[1:], strict=True)
            ]
        )
    if "direction" not in special:
        raise EvaluationError(f"{path} 缺少“direction”（方向）行：每项指标填 1（越大越好）或 -1（越小越好）。")
    line, cells = special["direction"]
    direction = []
    for code, cell in zip(codes, cells, strict=True):
        if cell not in DIRECTIONS:
            raise EvaluationError(f"{path} 第 {line} 行：指标 {code} 的方向“{cell}”应为 1 或 -1。")
        direction.append(DIRECTIONS[cell])
    targets: tuple[float | None, ...] = ()
    if "target" in special:
        line, cells = special["target"]
        targets = tuple(
            None if not cell else _number(cell, f"第 {line} 行指标 {code} 的目标值")
            for code, cell in zip(codes, cells, strict=True)
        )
    areas: tuple[str, ...] = ()
    if "area" in special:
        line, cells = special["area"]
        if not all(cells):
            raise EvaluationError(f"{path} 第 {line} 行：每项指标都应填写所属领域。")
        areas = tuple(cells)
    if not cities:
        raise EvaluationError(f"{path} 没有城市数据行。")
    return MatrixFile(
        matrix=engine.Matrix(cities=tuple(cities), indicators=codes, values=np.array(values, dtype=np.float64)),
        direction=tuple(direction),
        targets=targets,
        areas=areas,
    )


def _check_codes(found: Sequence[str], expected: Sequence[str], path: Path) -> None:
    unknown = [code for code in found if code not in expected]
    absent = [code for code in expected if code not in found]
    duplicated = sorted({code for code in found if found.count(code) > 1})
    problems = []
    if unknown:
        problems.append(f"数据文件中没有的指标：{'、'.join(unknown)}")
    if absent:
        problems.append(f"缺少的指标：{'、'.join(absent)}")
    if duplicated:
        problems.append(f"重复的指标：{'、'.join(duplicated)}")
    if problems:
        raise EvaluationError(f"{path} 的指标与数据文件不一致——" + "；".join(problems) + "。")


def read_weights(path: Path, indicators: Sequence[str]) -> tuple[float, ...]:
    """Explicit weights from ``indicator,weight`` rows (a header row is skipped), in the order of ``indicators``."""
    rows = _read_rows(path)
    if rows and len(rows[0]) >= 2 and not _is_number(rows[0][1]):
        rows = rows[1:]
    found: dict[str, float] = {}
    codes = []
    for row in rows:
        if len(row) < 2 or any(row[2:]):
            raise EvaluationError(f"{path} 每行应为两列：指标代码,权重。")
        codes.append(row[0])
        found[row[0]] = _number(row[1], f"{path} 中指标 {row[0]} 的权重")
    _check_codes(codes, indicators, path)
    return tuple(found[code] for code in indicators)


def _is_number(cell: str) -> bool:
    try:
        _number(cell, "")
    except EvaluationError:
        return False
    return True


def read_pairwise(path: Path, indicators: Sequence[str]) -> tuple[tuple[float, ...], ...]:
    """The AHP pairwise comparison matrix, reordered to the order of ``indicators``."""
    rows = _read_rows(path)
    if not rows:
        raise EvaluationError(f"文件 {path} 是空的。")
    columns = rows[0][1:]
    width = len(rows[0])
    labels = [row[0] for row in rows[1:]]
    _check_codes(columns, indicators, path)
    _check_codes(labels, indicators, path)
    table: dict[tuple[str, str], float] = {}
    for line, raw in enumerate(rows[1:], start=2):
        row = _fit(raw, width, path, line)
        for column, cell in zip(columns, row[1:], strict=True):
            table[row[0], column] = _number(cell, f"{path} 第 {line} 行 {row[0]} 对 {column} 的比较值")
    return tuple(tuple(table[a, b] for b in indicators) for a in indicators)


def _weighting(spec: str, indicators: Sequence[str]) -> tuple[str, tuple[float, ...], tuple[tuple[float, ...], ...]]:
    kind, _, file = spec.partition(":")
    if kind in ("equal", "entropy") and not file:
        return kind, (), ()
    if kind == "explicit" and file:
        return kind, read_weights(Path(file), indicators), ()
    if kind == "ahp" and file:
        return kind, (), read_pairwise(Path(file), indicators)
    raise EvaluationError(f"--weights 应为 equal、entropy、ahp:判断矩阵.csv 或 explicit:权重.csv，实际为“{spec}”。")


def scheme_for(
    data: MatrixFile,
    *,
    normalisation: str | None,
    weights: str,
    aggregation: str,
    monte_carlo: int,
    seed: int,
    spread: float,
    mc_normalisations: Sequence[str],
) -> engine.Scheme:
    """The evaluation scheme the command-line options describe."""
    if aggregation not in engine.AGGREGATIONS:
        raise EvaluationError(f"--aggregation 应为 {'、'.join(engine.AGGREGATIONS)} 之一，实际为“{aggregation}”。")
    if aggregation == "topsis" and (normalisation is not None or mc_normalisations):
        raise EvaluationError("TOPSIS 按 Hwang–Yoon 的定义对原始数值做向量归一化，不能同时指定标准化方法。")
    for method in (normalisation or "target", *mc_normalisations):
        if method not in engine.NORMALISATIONS:
            raise EvaluationError(f"标准化方法应为 {'、'.join(engine.NORMALISATIONS)} 之一，实际为“{method}”。")
    if monte_carlo < 0:
        raise EvaluationError("--monte-carlo 应为非负整数。")
    if not 0 <= spread < 1:
        raise EvaluationError("--spread 应在 0 与 1 之间（不含 1），如 0.25 表示 ±25 %。")
    kind, explicit, pairwise = _weighting(weights, data.matrix.indicators)
    return engine.Scheme(
        indicators=data.matrix.indicators,
        direction=data.direction,
        targets=data.targets,
        areas=data.areas,
        normalisation=normalisation or "target",
        weighting=kind,
        weights=explicit,
        pairwise=pairwise,
        aggregation=aggregation,
        mc_samples=monte_carlo,
        mc_seed=seed,
        mc_spread=spread,
        mc_normalisations=tuple(mc_normalisations),
    )


# --- output ---------------------------------------------------------------------------------------


def _float(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def _csv(rows: Sequence[Sequence[object]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def _ranking(result: engine.Evaluation, data: MatrixFile, scheme: engine.Scheme, as_json: bool) -> str:
    order = sorted(range(len(result.cities)), key=lambda i: (int(result.ranks[i]), i))
    missing = [[code for code, gap in zip(result.indicators, row, strict=True) if gap] for row in result.missing]
    mc = result.uncertainty
    if not as_json:
        header = ["city", "score", "rank", *(["median_rank", "p5", "p95"] if mc else []), "missing"]
        rows: list[Sequence[object]] = [header]
        for i in order:
            interval = [int(mc.median[i]), int(mc.p5[i]), int(mc.p95[i])] if mc else []
            rows.append(
                [result.cities[i], f"{result.scores[i]:.6f}", int(result.ranks[i]), *interval, ";".join(missing[i])]
            )
        return _csv(rows)
    cities = []
    for i in order:
        city: dict[str, Any] = {
            "city": result.cities[i],
            "score": float(result.scores[i]),
            "rank": int(result.ranks[i]),
            "missing": missing[i],
        }
        if result.area_scores is not None:
            city["areas"] = {code: _float(result.area_scores[i, a]) for a, code in enumerate(result.area_codes)}
        if mc:
            city |= {"median_rank": int(mc.median[i]), "p5": int(mc.p5[i]), "p95": int(mc.p95[i])}
        cities.append(city)
    document = {
        "engine_version": engine.ENGINE_VERSION,
        "fingerprint": result.fingerprint,
        "scheme": {
            "normalisation": "vector" if scheme.aggregation == "topsis" else scheme.normalisation,
            "weighting": scheme.weighting,
            "aggregation": scheme.aggregation,
            "monte_carlo": {
                "samples": scheme.mc_samples,
                "seed": scheme.mc_seed,
                "spread": scheme.mc_spread,
                "normalisations": [scheme.normalisation, *scheme.mc_normalisations],
            }
            if scheme.mc_samples
            else None,
        },
        "indicators": [
            {
                "code": code,
                "direction": data.direction[j],
                "target": data.targets[j] if data.targets else None,
                "area": data.areas[j] if data.areas else None,
                "weight": float(result.weights[j]),
            }
            for j, code in enumerate(result.indicators)
        ],
        "ahp": None
        if result.ahp is None
        else {"lambda_max": result.ahp.lambda_max, "ci": result.ahp.ci, "ri": result.ahp.ri, "cr": result.ahp.cr},
        "cities": cities,
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def _explanation(result: engine.Evaluation, data: MatrixFile, city: str, as_json: bool) -> str:
    if result.explanation is None:
        raise EvaluationError(
            "--explain 只适用于加权算术平均（--aggregation arithmetic）：得分可分解为各指标贡献之和。"
        )
    if city not in result.cities:
        raise EvaluationError(f"数据中没有城市“{city}”。")
    i = result.cities.index(city)
    parts = result.explanation
    rows = []
    for j, code in enumerate(result.indicators):
        rows.append(
            {
                "indicator": code,
                "area": data.areas[j] if data.areas else "",
                "value": _float(data.matrix.values[i, j]),
                "normalised": _float(result.normalised[i, j]),
                "weight": float(parts.effective_weights[i, j]),
                "contribution": float(parts.contributions[i, j]),
                "cohort_mean": float(parts.cohort_mean[j]),
                "difference": float(parts.difference[i, j]),
            }
        )
    if as_json:
        document = {
            "city": city,
            "score": float(result.scores[i]),
            "rank": int(result.ranks[i]),
            "cohort_mean_score": float(parts.cohort_mean.sum()),
            "fingerprint": result.fingerprint,
            "indicators": rows,
        }
        return json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    fields = list(rows[0])
    table: list[Sequence[object]] = [fields]
    for row in rows:
        table.append(
            ["" if row[f] is None else (row[f] if isinstance(row[f], str) else f"{row[f]:.6f}") for f in fields]
        )
    return _csv(table)


# --- the command ----------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options, shared by ``manage.py evaluate_matrix`` and ``python -m infocity.evaluation.matrix``."""
    parser.add_argument(
        "input", type=Path, help="CSV：行为城市，列为指标，含 direction（方向）行，可选 target、area 行"
    )
    parser.add_argument(
        "--normalisation",
        default=None,
        help="标准化：target（默认：有目标值的按距目标值，其余按极差）、minmax、zscore、rank；TOPSIS 不用此项",
    )
    parser.add_argument(
        "--weights", default="equal", help="赋权：equal（默认）、entropy、ahp:判断矩阵.csv、explicit:权重.csv"
    )
    parser.add_argument("--aggregation", default="arithmetic", help="汇总：arithmetic（默认）、geometric、topsis")
    parser.add_argument("--json", action="store_true", help="输出 JSON（默认输出 CSV）")
    parser.add_argument("--monte-carlo", type=int, default=0, metavar="N", help="蒙特卡洛抽样次数（权重扰动）")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"蒙特卡洛随机种子（默认 {DEFAULT_SEED}）")
    parser.add_argument(
        "--spread", type=float, default=engine.DEFAULT_SPREAD, help="每个权重的扰动幅度（默认 0.25，即 ±25 %%）"
    )
    parser.add_argument(
        "--mc-normalisation",
        action="append",
        default=[],
        metavar="METHOD",
        help="蒙特卡洛中与 --normalisation 等概率抽取的其他标准化方法（可重复）",
    )
    parser.add_argument("--explain", metavar="CITY", help="输出该城市的得分构成（仅加权算术平均）")


def run(options: Mapping[str, Any]) -> str:
    """The command's output for parsed ``options``; every problem is an :class:`EvaluationError` in Chinese."""
    data = read_matrix(Path(options["input"]))
    scheme = scheme_for(
        data,
        normalisation=options.get("normalisation"),
        weights=options.get("weights") or "equal",
        aggregation=options.get("aggregation") or "arithmetic",
        monte_carlo=options.get("monte_carlo") or 0,
        seed=options.get("seed", DEFAULT_SEED),
        spread=options.get("spread", engine.DEFAULT_SPREAD),
        mc_normalisations=options.get("mc_normalisation") or (),
    )
    result = engine.evaluate(data.matrix, scheme)
    as_json = bool(options.get("json"))
    if options.get("explain"):
        return _explanation(result, data, options["explain"], as_json)
    return _ranking(result, data, scheme, as_json)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m infocity.evaluation.matrix INPUT.csv [options]``: prints the result, or an error on stderr."""
    parser = argparse.ArgumentParser(prog="evaluate_matrix", description="按评估方法计算城市得分与排名。")
    add_arguments(parser)
    options = parser.parse_args(argv)
    try:
        output = run(vars(options))
    except EvaluationError as error:
        print(f"错误：{error}", file=sys.stderr)
        return 1
    sys.stdout.write(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
