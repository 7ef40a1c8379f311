"""``evaluate_matrix``: the engine on a CSV file, run on the shipped example files — the output an analyst gets and
the Chinese message (never a traceback) for every kind of bad input."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from infocity.evaluation.management.commands.evaluate_matrix import Command
from infocity.evaluation.matrix import main

EXAMPLES = Path(__file__).resolve().parent.parent / "infocity" / "evaluation" / "examples"
CITIES = str(EXAMPLES / "cities.csv")
PAIRWISE = str(EXAMPLES / "pairwise.csv")
WEIGHTS = str(EXAMPLES / "weights.csv")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def table(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def write(tmp_path: Path, text: str, name: str = "input.csv", encoding: str = "utf-8") -> str:
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return str(path)


# --- the example files ----------------------------------------------------------------------------


def test_it_ranks_the_example_cities_as_csv(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, CITIES)
    assert (code, err) == (0, "")
    rows = table(out)
    assert list(rows[0]) == ["city", "score", "rank", "missing"]
    assert len(rows) == 8
    assert sorted(int(row["rank"]) for row in rows) == list(range(1, 9))
    assert [int(row["rank"]) for row in rows] == sorted(int(row["rank"]) for row in rows)  # best first
    # 示例甲市 meets every target and leads every other indicator.
    assert rows[0] == {"city": "示例甲市", "score": "100.000000", "rank": "1", "missing": ""}
    # 示例己市 reported no C06: flagged, scored on its other indicators.
    assert {row["city"]: row["missing"] for row in rows}["示例己市"] == "C06"


@pytest.mark.parametrize(
    "weights",
    ["equal", "entropy", f"ahp:{PAIRWISE}", f"explicit:{WEIGHTS}"],
    ids=["equal", "entropy", "ahp", "explicit"],
)
@pytest.mark.parametrize("aggregation", ["arithmetic", "geometric", "topsis"])
def test_every_weighting_and_aggregation_runs_on_the_example(
    capsys: pytest.CaptureFixture[str], weights: str, aggregation: str
) -> None:
    code, out, err = run(capsys, CITIES, "--weights", weights, "--aggregation", aggregation, "--json")
    assert (code, err) == (0, "")
    document = json.loads(out)
    assert document["scheme"]["weighting"] == weights.partition(":")[0]
    assert sum(indicator["weight"] for indicator in document["indicators"]) == pytest.approx(1.0)
    scores = [city["score"] for city in document["cities"]]
    assert scores == sorted(scores, reverse=True)
    assert all(0 <= score <= (1 if aggregation == "topsis" else 100) for score in scores)
    assert (document["ahp"] is not None) == weights.startswith("ahp")


def test_the_json_output_carries_the_scheme_weights_and_fingerprint(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, CITIES, "--weights", f"explicit:{WEIGHTS}", "--json")
    assert code == 0
    document = json.loads(out)
    assert len(document["fingerprint"]) == 64
    assert document["scheme"] == {
        "normalisation": "target",
        "weighting": "explicit",
        "aggregation": "arithmetic",
        "monte_carlo": None,
    }
    a01 = document["indicators"][0]
    assert a01 == {"code": "A01", "direction": 1, "target": 100.0, "area": "A", "weight": 0.1}
    ji = next(city for city in document["cities"] if city["city"] == "示例己市")
    assert ji["missing"] == ["C06"]
    assert ji["areas"]["C"] is None  # area C is C06 alone: no score, the other areas stand for it
    assert set(ji["areas"]) == {"A", "C", "E", "F"}


def test_ahp_reports_its_consistency(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, CITIES, "--weights", f"ahp:{PAIRWISE}", "--json")
    ahp = json.loads(out)["ahp"]
    assert ahp["ri"] == 1.32
    assert 0 <= ahp["cr"] < 0.1


def test_monte_carlo_adds_rank_intervals_reproducibly(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [CITIES, "--weights", "entropy", "--monte-carlo", "2000", "--seed", "7"]
    _, first, _ = run(capsys, *argv)
    _, second, _ = run(capsys, *argv)
    assert first == second
    rows = table(first)
    assert list(rows[0]) == ["city", "score", "rank", "median_rank", "p5", "p95", "missing"]
    for row in rows:
        assert 1 <= int(row["p5"]) <= int(row["median_rank"]) <= int(row["p95"]) <= 8


def test_monte_carlo_can_draw_the_normalisation_too(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, CITIES, "--monte-carlo", "500", "--mc-normalisation", "rank", "--json")
    assert code == 0
    assert json.loads(out)["scheme"]["monte_carlo"] == {
        "samples": 500,
        "seed": 2016,
        "spread": 0.25,
        "normalisations": ["target", "rank"],
    }


def test_explain_splits_a_score_into_indicator_contributions(capsys: pytest.CaptureFixture[str]) -> None:
    _, ranking, _ = run(capsys, CITIES, "--json")
    score = next(city["score"] for city in json.loads(ranking)["cities"] if city["city"] == "示例己市")
    code, out, _ = run(capsys, CITIES, "--explain", "示例己市", "--json")
    assert code == 0
    explanation = json.loads(out)
    parts = explanation["indicators"]
    assert [part["indicator"] for part in parts] == ["A01", "A02", "A04", "A05", "C06", "E02", "F05"]
    assert sum(part["contribution"] for part in parts) == pytest.approx(score)
    assert sum(part["difference"] for part in parts) == pytest.approx(score - explanation["cohort_mean_score"])
    c06 = parts[4]
    assert (c06["value"], c06["weight"], c06["contribution"]) == (None, 0.0, 0.0)
    # The CSV form: one row per indicator.
    _, out, _ = run(capsys, CITIES, "--explain", "示例己市")
    rows = table(out)
    assert rows[0]["indicator"] == "A01"
    assert rows[4]["value"] == ""


# --- the Django command ---------------------------------------------------------------------------


def test_the_command_prints_the_ranking() -> None:
    out = io.StringIO()
    call_command(Command(), CITIES, "--weights", "entropy", stdout=out)
    assert table(out.getvalue())[0]["city"] == "示例甲市"


def test_the_command_reports_errors_in_chinese() -> None:
    with pytest.raises(CommandError, match="找不到文件"):
        call_command(Command(), "/nonexistent/cities.csv", stdout=io.StringIO())


def test_the_module_runs_without_django_and_fails_without_a_traceback(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "infocity.evaluation.matrix"]
    ok = subprocess.run([*command, CITIES], capture_output=True, text=True, check=False)  # noqa: S603
    assert ok.returncode == 0
    assert ok.stdout.startswith("city,score,rank")
    bad = write(tmp_path, "城市,A01\ndirection,1\n甲,abc\n")
    failed = subprocess.run([*command, bad], capture_output=True, text=True, check=False)  # noqa: S603
    assert failed.returncode == 1
    assert "Traceback" not in failed.stderr
    assert failed.stderr.startswith("错误：")


# --- bad input ------------------------------------------------------------------------------------

GOOD_HEAD = "城市,A01,A02\ndirection,1,-1\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "是空的"),
        (GOOD_HEAD + "甲,90,abc\n", "第 3 行（甲）指标 A02 的数值“abc”不是数值"),
        (GOOD_HEAD + "甲,90,inf\n", "不是有限的数值"),
        ("城市,A01,A02\n甲,90,3\n", "缺少“direction”（方向）行"),
        ("城市,A01,A02\ndirection,1,2\n甲,90,3\n", "指标 A02 的方向“2”应为 1 或 -1"),
        (GOOD_HEAD + "甲,90\n", "第 3 行有 2 列，应为 3 列"),
        (GOOD_HEAD + "甲,90,3,7\n", "第 3 行有 4 列，应为 3 列"),
        (GOOD_HEAD + "甲,90,3\n甲,80,4\n", "城市“甲”重复出现"),
        (GOOD_HEAD + ",90,3\n", "缺少城市名称"),
        ("城市,A01,A01\ndirection,1,1\n甲,1,2\n", "指标代码有重复：A01"),
        (GOOD_HEAD + "direction,1,1\n甲,1,2\n", "重复出现"),
        (GOOD_HEAD, "没有城市数据行"),
        (GOOD_HEAD + "target,0,\n甲,90,3\n", "指标 A01 的目标值应为大于 0 的数"),
        (GOOD_HEAD + "甲,90,\n乙,80,\n", "指标 A02 没有任何城市的数值"),
        (GOOD_HEAD + "area,A,\n甲,90,3\n", "都应填写所属领域"),
    ],
)
def test_bad_input_files_give_a_chinese_message(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, message: str
) -> None:
    code, out, err = run(capsys, write(tmp_path, text))
    assert code == 1
    assert out == ""
    assert err.startswith("错误：")
    assert message in err


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--weights", "magic"], "--weights 应为 equal、entropy"),
        (["--weights", "explicit:/nonexistent.csv"], "找不到文件"),
        (["--aggregation", "median"], "--aggregation 应为"),
        (["--normalisation", "log"], "标准化方法应为"),
        (["--aggregation", "topsis", "--normalisation", "minmax"], "向量归一化"),
        (["--aggregation", "geometric", "--normalisation", "zscore"], "不能与 Z 分数标准化同用"),
        (["--monte-carlo", "-1"], "非负整数"),
        (["--spread", "1.5"], "--spread 应在 0 与 1 之间"),
        (["--aggregation", "topsis", "--explain", "示例甲市"], "只适用于加权算术平均"),
        (["--explain", "示例壬市"], "没有城市“示例壬市”"),
    ],
)
def test_bad_options_give_a_chinese_message(
    capsys: pytest.CaptureFixture[str], options: list[str], message: str
) -> None:
    code, _, err = run(capsys, CITIES, *options)
    assert code == 1
    assert message in err


def test_an_inconsistent_ahp_matrix_is_refused_naming_its_cr(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pairwise = write(
        tmp_path,
        ",A01,A02,A04\nA01,1,9,1/9\nA02,1/9,1,9\nA04,9,1/9,1\n",
        name="pairwise.csv",
    )
    data = write(tmp_path, "城市,A01,A02,A04\ndirection,1,1,1\n甲,1,2,3\n乙,3,2,1\n")
    code, _, err = run(capsys, data, "--weights", f"ahp:{pairwise}")
    assert code == 1
    assert "一致性比率 CR = " in err
    assert "未通过一致性检验" in err


@pytest.mark.parametrize(
    ("pairwise", "message"),
    [
        (",A01,A02\nA01,1,3\nA02,1/3,1\n", "缺少的指标：A04"),
        (",A01,A02,A04,X\nA01,1,3,1,1\nA02,1/3,1,1,1\nA04,1,1,1,1\nX,1,1,1,1\n", "数据文件中没有的指标：X"),
        (",A01,A02,A04\nA01,1,3,2\nA02,1/2,1,1\nA04,1/2,1,1\n", "不是互反矩阵"),
    ],
)
def test_a_pairwise_file_must_match_the_indicators(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, pairwise: str, message: str
) -> None:
    data = write(tmp_path, "城市,A01,A02,A04\ndirection,1,1,1\n甲,1,2,3\n乙,3,2,1\n")
    code, _, err = run(capsys, data, "--weights", f"ahp:{write(tmp_path, pairwise, name='p.csv')}")
    assert code == 1
    assert message in err


def test_the_pairwise_file_may_list_the_indicators_in_any_order(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = write(tmp_path, "城市,A01,A02\ndirection,1,1\n甲,1,2\n乙,3,1\n")
    shuffled = write(tmp_path, ",A02,A01\nA02,1,1/4\nA01,4,1\n", name="p.csv")
    _, out, _ = run(capsys, data, "--weights", f"ahp:{shuffled}", "--json")
    assert [i["weight"] for i in json.loads(out)["indicators"]] == pytest.approx([0.8, 0.2])


def test_explicit_weights_must_cover_every_indicator(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    weights = write(tmp_path, "indicator,weight\nA01,1\n", name="w.csv")
    code, _, err = run(capsys, CITIES, "--weights", f"explicit:{weights}")
    assert code == 1
    assert "缺少的指标：A02、A04、A05、C06、E02、F05" in err


def test_a_file_saved_by_a_chinese_excel_is_read(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    text = "城市,A01,A02\n方向,1,1\n目标值,80,\n杭州,60,5\n宁波,NA,7\n嘉兴,90,9\n"
    code, out, _ = run(capsys, write(tmp_path, text, encoding="gb18030"), "--json")
    assert code == 0
    cities: list[dict[str, Any]] = json.loads(out)["cities"]
    # A01 against its target 80 (杭州 75, 嘉兴 100), A02 min–max (0, 50, 100); 宁波 on A02 alone.
    assert [(c["city"], c["score"], c["missing"]) for c in cities] == [
        ("嘉兴", 100.0, []),
        ("宁波", 50.0, ["A01"]),
        ("杭州", 37.5, []),
    ]


def test_a_city_with_no_value_at_all_is_refused_by_name(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, write(tmp_path, "城市,A01\n方向,1\n杭州,60\n宁波,\n"))
    assert code == 1
    assert "无法评分：宁波" in err


def test_manage_py_knows_the_command() -> None:
    """The evaluation app is installed: ``manage.py evaluate_matrix`` is found by name."""
    out = io.StringIO()
    call_command("evaluate_matrix", CITIES, stdout=out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert rows[0]["rank"] == "1" and {"city", "score", "rank", "missing"} <= set(rows[0])
