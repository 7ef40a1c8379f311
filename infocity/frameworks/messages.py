"""Validation messages that name the items and their values (校验提示)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

PLACEHOLDER = re.compile(r"\{([A-Z][A-Z0-9_]*)(?:\.(name|prev))?\}")


def placeholders(template: str) -> set[str]:
    return {match.group(1) for match in PLACEHOLDER.finditer(template)}


def render(
    template: str,
    names: Mapping[str, str],
    value: Callable[[str], str],
    previous: Callable[[str], str],
) -> str:
    """Fill ``{CODE}`` with the formatted value, ``{CODE.name}`` with the item's name and ``{CODE.prev}``
    with the previous period's value. Nothing else in the template is interpreted."""

    def fill(match: re.Match[str]) -> str:
        code, part = match.group(1), match.group(2)
        if part == "name":
            return names.get(code, code)
        if part == "prev":
            return previous(code)
        return value(code)

    return PLACEHOLDER.sub(fill, template)
