"""ECharts options computed on the server (the page only hands them to ECharts). Each chart carries a
"save as image" button; its data is downloadable as CSV from the same page."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from infocity.frameworks.models import Indicator

from .models import Attainment
from .queries import number

COLOURS = {
    Attainment.MET: "#198754",
    Attainment.NOT_MET: "#dc3545",
    Attainment.NO_VALUE: "#adb5bd",
    Attainment.NO_TARGET: "#0d6efd",
}


def _toolbox(name: str) -> dict[str, Any]:
    return {"right": 10, "feature": {"saveAsImage": {"title": _("保存为图片"), "name": name, "pixelRatio": 2}}}


def _target_line(indicator: Indicator) -> list[dict[str, Any]]:
    if indicator.target_kind == Indicator.TargetKind.COMPARISON and indicator.target_value is not None:
        return [{"yAxis": float(indicator.target_value), "name": _("目标"), "label": {"formatter": _("目标") + " {c}"}}]
    return []


def map_option(
    provinces: list[dict[str, Any]], cities: list[dict[str, Any]], indicator: Indicator, period_label: str
) -> dict[str, Any]:
    """China map: provinces shaded by the share of their cities meeting the target, cities as coloured points."""
    return {
        "title": {
            "text": f"{indicator.code} {indicator.name} · {period_label}",
            "subtext": _("省份颜色：达标城市比例；圆点：示范城市（绿色达标，红色未达标）"),
            "left": "center",
        },
        "tooltip": {"trigger": "item"},
        "toolbox": _toolbox(f"{indicator.code}-map"),
        "visualMap": {
            "min": 0,
            "max": 100,
            "seriesIndex": 0,
            "left": 10,
            "bottom": 10,
            "calculable": True,
            "text": [_("达标城市比例") + " 100%", "0%"],
            "inRange": {"color": ["#f8d7da", "#fff3cd", "#d1e7dd", "#198754"]},
        },
        "geo": {
            "map": "china",
            "roam": True,
            "zoom": 1.15,
            "top": 70,
            "itemStyle": {"areaColor": "#f1f3f5", "borderColor": "#999"},
            "emphasis": {"itemStyle": {"areaColor": "#cfe2ff"}},
        },
        "series": [
            {
                "type": "map",
                "geoIndex": 0,
                "name": _("达标城市比例（%）"),
                "data": [
                    {"name": p["map_name"], "value": round(p["share_met"] * 100, 1)}
                    for p in provinces
                    if p["share_met"] is not None and not p["separately_planned"]
                ],
            },
            {
                "type": "scatter",
                "coordinateSystem": "geo",
                "name": indicator.unit or _("值"),
                "symbolSize": 11,
                "data": [
                    {
                        "name": c["city"].name,
                        "value": [*c["centre"], number(c["value"], indicator.decimals)],
                        "itemStyle": {"color": COLOURS.get(c["attainment"], "#6c757d"), "borderColor": "#fff"},
                    }
                    for c in cities
                    if c["centre"]
                ],
            },
        ],
    }


def cities_bar_option(cities: list[dict[str, Any]], indicator: Indicator, title: str) -> dict[str, Any]:
    """The scope's cities for one indicator, coloured by attainment, with the target line."""
    return {
        "title": {"text": title, "left": "center"},
        "tooltip": {"trigger": "axis"},
        "toolbox": _toolbox(f"{indicator.code}-cities"),
        "grid": {"left": 60, "right": 30, "bottom": 90, "top": 60},
        "xAxis": {"type": "category", "data": [c["city"].name for c in cities], "axisLabel": {"rotate": 45}},
        "yAxis": {"type": "value", "name": indicator.unit},
        "series": [
            {
                "type": "bar",
                "name": indicator.name,
                "data": [
                    {
                        "value": number(c["value"], indicator.decimals),
                        "itemStyle": {"color": COLOURS.get(c["attainment"], "#6c757d")},
                    }
                    for c in cities
                ],
                "markLine": {"symbol": "none", "data": _target_line(indicator), "lineStyle": {"type": "dashed"}},
            }
        ],
    }


def attainment_option(rows: list[Any], title: str) -> dict[str, Any]:
    """For every indicator with a target, how many cities met it, did not, or have no value."""
    with_target = [r for r in rows if r.indicator.target_kind != Indicator.TargetKind.NONE]
    labels = [r.indicator.code for r in with_target]
    return {
        "title": {"text": title, "left": "center"},
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "legend": {"top": 30},
        "toolbox": _toolbox("attainment"),
        "grid": {"left": 50, "right": 20, "bottom": 40, "top": 70},
        "xAxis": {"type": "category", "data": labels},
        "yAxis": {"type": "value", "name": _("城市数"), "minInterval": 1},
        "series": [
            {
                "type": "bar",
                "stack": "n",
                "name": _("达标"),
                "color": COLOURS[Attainment.MET],
                "data": [r.met for r in with_target],
            },
            {
                "type": "bar",
                "stack": "n",
                "name": _("未达标"),
                "color": COLOURS[Attainment.NOT_MET],
                "data": [r.not_met for r in with_target],
            },
            {
                "type": "bar",
                "stack": "n",
                "name": _("无数据"),
                "color": COLOURS[Attainment.NO_VALUE],
                "data": [r.no_value for r in with_target],
            },
        ],
    }


def trend_option(indicator: Indicator, series: dict[str, list[tuple[str, float | None]]]) -> dict[str, Any]:
    """Lines over time (e.g. the city and the nation), with the target line."""
    labels: list[str] = []
    for points in series.values():
        for label, _value in points:
            if label not in labels:
                labels.append(label)
    return {
        "title": {"text": f"{indicator.code} {indicator.name} · " + _("趋势"), "left": "center"},
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 30},
        "toolbox": _toolbox(f"{indicator.code}-trend"),
        "grid": {"left": 60, "right": 30, "bottom": 50, "top": 70},
        "xAxis": {"type": "category", "data": labels},
        "yAxis": {"type": "value", "name": indicator.unit, "scale": True},
        "series": [
            {
                "type": "line",
                "name": name,
                "connectNulls": False,
                "data": [dict(points).get(label) for label in labels],
                "markLine": {"symbol": "none", "data": _target_line(indicator), "lineStyle": {"type": "dashed"}}
                if index == 0
                else {},
            }
            for index, (name, points) in enumerate(series.items())
        ],
    }
