"""Loading the shipped 2016 edition (``data/edition-2016.yaml``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .interchange import from_text
from .models import Edition
from .services import create_edition_from_data, publish_edition

if TYPE_CHECKING:
    from infocity.accounts.models import User

EDITION_2016 = Path(__file__).resolve().parent / "data" / "edition-2016.yaml"


def load_edition_file(path: Path, *, publish: bool = True, actor: User | None = None) -> Edition:
    """Create (and publish) the edition in ``path``; an edition with the same code is left untouched."""
    data = from_text(path.read_text(encoding="utf-8"))
    existing = Edition.objects.filter(code=str(data.get("code", ""))).first() if isinstance(data, dict) else None
    if existing is not None:
        return existing
    edition = create_edition_from_data(actor=actor, data=data)
    if publish:
        edition = publish_edition(actor=actor, edition=edition)
    return edition


def publish_monthly_2016(code: str = "2016-monthly", note: str = "") -> Edition:
    """The shipped 2016 edition with every form and indicator reported monthly, published as ``code``: the larger
    data shape of the benchmarks and fault tests (``note`` is added to its name, e.g. 基准测试)."""
    data = from_text(EDITION_2016.read_text(encoding="utf-8"))
    data["code"] = code
    if note:
        data["name_zh"] = f"{data['name_zh']}（{note}）"
    for form in data["forms"]:
        form["frequency"] = "M"
    for indicator in data["indicators"]:
        indicator["frequency"] = "M"
    return publish_edition(actor=None, edition=create_edition_from_data(actor=None, data=data))
