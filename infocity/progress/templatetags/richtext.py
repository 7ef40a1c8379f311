from django import template
from django.utils.safestring import SafeString, mark_safe

from infocity.progress import richtext as cleaner

register = template.Library()


@register.filter
def rich(html: str) -> SafeString:
    """Stored rich text, sanitised again as it is shown: nothing reaches the page that the allow-list does not
    permit, whatever wrote the database."""
    return mark_safe(cleaner.sanitize(html or ""))  # noqa: S308 — the output of the sanitiser
