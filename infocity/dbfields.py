"""Model fields shared by the apps."""

from __future__ import annotations

from typing import Any

from django.db import models


class DocumentField(models.JSONField):
    """A JSON document per row (versions, audit details, import entries). The same column as JSONField; the only
    difference is how PostgreSQL bulk inserts are written: with ``get_placeholder`` Django uses multi-row VALUES
    instead of its UNNEST arrays, which would escape every quote of every document in Python — many times slower
    for documents of this size (measured by bench/ingest)."""

    def get_placeholder(self, value: Any, compiler: Any, connection: Any) -> str:
        return "%s"
