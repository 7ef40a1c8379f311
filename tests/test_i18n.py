"""Chinese first, English available: every UI string has an English translation, compiled."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

from django.test import Client

ROOT = Path(__file__).resolve().parents[1] / "infocity"
CATALOG = ROOT / "locale" / "en" / "LC_MESSAGES"


def _unquote(literal: str) -> str:
    escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}
    return re.sub(r"\\(.)", lambda m: escapes.get(m.group(1), m.group(0)), literal[1:-1])


def po_entries() -> dict[str, list[str]]:
    """msgid (with its context, if any) → translations (one, or one per plural form; "<fuzzy>" when flagged
    fuzzy) from the .po file."""
    entries: dict[str, list[str]] = {}
    text = (CATALOG / "django.po").read_text(encoding="utf-8")
    for block in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        key = ""
        fuzzy = False
        for line in block.splitlines():
            if line.startswith("#,"):
                fuzzy = fuzzy or "fuzzy" in line
            elif line.startswith("#"):
                continue
            elif line.startswith('"'):
                fields[key] += _unquote(line.strip())
            else:
                key, _, literal = line.partition(" ")
                fields[key] = _unquote(literal.strip())
        if fields.get("msgid"):
            translations = [v for k, v in fields.items() if k.startswith("msgstr")]
            # Entries with a context are keyed as gettext stores them: "context\x04msgid".
            key = f"{fields['msgctxt']}\x04{fields['msgid']}" if "msgctxt" in fields else fields["msgid"]
            entries[key] = ["<fuzzy>"] if fuzzy else translations
    return entries


def test_every_entry_is_translated_and_not_fuzzy() -> None:
    entries = po_entries()
    assert len(entries) > 100
    untranslated = [k for k, v in entries.items() if not v or any(t in ("", "<fuzzy>") for t in v)]
    assert untranslated == []


def test_compiled_catalog_matches_the_po_file() -> None:
    with (CATALOG / "django.mo").open("rb") as f:
        compiled = gettext.GNUTranslations(f)
    stale = [k for k, v in po_entries().items() if len(v) == 1 and compiled.gettext(k) != v[0]]
    assert stale == [], "run compilemessages -l en"


def test_source_strings_are_in_the_catalog() -> None:
    entries = po_entries()
    found: set[str] = set()
    for template in (ROOT / "templates").rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        strings = set(re.findall(r'{%\s*translate\s+"([^"]+)"', text))
        strings |= set(re.findall(r"{%\s*translate\s+'([^']+)'", text))
        # Django keeps a literal "%" of a template string as "%%" in the catalog (and looks it up that way).
        found |= {string.replace("%", "%%") for string in strings}
    for module in ROOT.rglob("*.py"):
        if "migrations" in module.parts:
            continue
        found |= set(re.findall(r'\b_\(\s*"([^"\\]+)"\s*\)', module.read_text(encoding="utf-8")))
    missing = sorted(found - set(entries))
    assert missing == [], "run makemessages -l en and translate"


def test_english_pages(db: None) -> None:
    client = Client()
    client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    html = client.get("/accounts/login/").content.decode()
    assert '<html lang="en">' in html
    assert "Sign in" in html
    assert "用户登录" not in html
