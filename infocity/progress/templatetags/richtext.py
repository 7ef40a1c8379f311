from django import template
from django.utils.html import escape, linebreaks
from django.utils.safestring import SafeString, mark_safe

from infocity.progress import richtext as cleaner

register = template.Library()


@register.filter
def rich(html: str) -> SafeString:
    """Stored rich text, sanitised again as it is shown: nothing reaches the page that the allow-list does not
    permit, whatever wrote the database."""
    try:
        return mark_safe(cleaner.sanitize(html or ""))  # noqa: S308 — the output of the sanitiser
    except ValueError:  # refused as rich text (too long, too deeply nested): shown as escaped plain text
        return mark_safe(linebreaks(escape((html or "")[:20_000])))  # noqa: S308 — escaped
