"""Pages make no request to an outside host: every asset is vendored and served by the platform."""

from __future__ import annotations

import re
from pathlib import Path

from django.contrib.staticfiles import finders

ROOT = Path(__file__).resolve().parents[1] / "infocity"
TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))


def test_templates_reference_no_outside_host() -> None:
    pattern = re.compile(r"""(?:src|href|action)\s*=\s*["']\s*(?:https?:)?//""", re.IGNORECASE)
    offenders = [str(t) for t in TEMPLATES if pattern.search(t.read_text(encoding="utf-8"))]
    assert offenders == []


def test_every_static_reference_exists() -> None:
    referenced = set()
    for template in TEMPLATES:
        referenced |= set(re.findall(r"""\{%\s*static\s+['"]([^'"]+)['"]""", template.read_text(encoding="utf-8")))
    assert referenced
    missing = [path for path in referenced if finders.find(path) is None]
    assert missing == []


def test_vendored_assets_carry_versions_and_licences() -> None:
    vendor = ROOT / "static" / "vendor"
    versions = (vendor / "VERSIONS.md").read_text(encoding="utf-8")
    for directory in (d for d in vendor.iterdir() if d.is_dir()):
        assert (directory / "LICENSE").exists(), directory
        version = directory.name.rsplit("-", 1)[1]
        assert version in versions, directory


def test_vendored_css_loads_nothing_from_outside() -> None:
    for css in (ROOT / "static").rglob("*.css"):
        text = css.read_text(encoding="utf-8")
        assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", text), css
        assert "@import" not in text or "//" not in text, css
