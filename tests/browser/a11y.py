"""Automated accessibility check (WCAG 2.1 A/AA, the basis of GB/T 37668-2019) with axe-core, vendored under
tests/browser/vendor/ (MPL-2.0; refreshed by scripts/vendor.sh). axe is evaluated through the DevTools protocol,
so a Content-Security-Policy without inline scripts does not stop it."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from .conftest import ARTIFACTS

AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}


@cache
def _source() -> str:
    return AXE.read_text(encoding="utf-8")


def violations(page: Any) -> list[dict[str, Any]]:
    """axe's violations on the page as it is now."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(_source())
    result: dict[str, Any] = page.evaluate(
        "tags => window.axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        TAGS,
    )
    return list(result["violations"])


def assert_accessible(page: Any, name: str) -> None:
    """No serious or critical violation; every violation found is written to test-artifacts/a11y-NAME.json."""
    found = violations(page)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"a11y-{name}.json").write_text(
        json.dumps(
            [{"id": v["id"], "impact": v["impact"], "help": v["help"],
              "nodes": [n["target"] for n in v["nodes"]][:10]} for v in found],
            ensure_ascii=False, indent=1,
        ),
        encoding="utf-8",
    )  # fmt: skip
    blocking = [(v["id"], v["impact"], v["help"], [n["target"] for n in v["nodes"]][:5]) for v in found
                if v["impact"] in BLOCKING]  # fmt: skip
    assert not blocking, f"{name}: {blocking}"
