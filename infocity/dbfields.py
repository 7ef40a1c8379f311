"""Model fields shared by the apps."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core import validators
from django.core.exceptions import FieldError
from django.db import models
from django.db.models import lookups


class DocumentField(models.JSONField):
    """A JSON document per row (versions, audit details, import entries). The same column as JSONField; the only
    difference is how PostgreSQL bulk inserts are written: with ``get_placeholder`` Django uses multi-row VALUES
    instead of its UNNEST arrays, which would escape every quote of every document in Python — many times slower
    for documents of this size (measured by bench/ingest)."""

    def get_placeholder(self, value: Any, compiler: Any, connection: Any) -> str:
        return "%s"


class EncryptedCharField(models.CharField):  # type: ignore[type-arg]
    """Personal data (a contact's name, telephone, e-mail) encrypted at rest (``infocity.crypto``). In Python and in
    forms it is an ordinary CharField whose ``max_length`` limits the plain text; the column is text holding the
    ciphertext. The empty string is stored as it is, so "no value" can still be queried; any other lookup on the
    column cannot match (each encryption differs) and is refused with a FieldError."""

    description = "Text encrypted at rest"

    def get_internal_type(self) -> str:
        return "TextField"

    def _context(self) -> str:
        return f"{self.model._meta.label}.{self.name}"

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        from infocity import crypto

        if value is None or value == "" or not crypto.is_encrypted(value):
            return value  # a value written before encryption, until the migration or the rotation command seals it
        return crypto.decrypt(value, self._context())

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        from infocity import crypto

        value = super().get_db_prep_value(value, connection, prepared)
        if value is None or value == "":
            return value
        return crypto.encrypt(value, self._context())

    def get_lookup(self, lookup_name: str) -> Any:
        # Only "is it empty / null" can be asked of ciphertext; any other lookup is refused by Django with
        # "Unsupported lookup" (a FieldError), and comparing with a value fails loudly instead of matching nothing.
        if lookup_name == "exact":
            return EmptyOnlyExact
        return super().get_lookup(lookup_name) if lookup_name == "isnull" else None


class EmptyOnlyExact(lookups.Exact):  # type: ignore[type-arg]
    """``field=""`` on an encrypted column; ``field="a value"`` could never match (each encryption differs)."""

    def get_prep_lookup(self) -> Any:
        if self.rhs not in ("", None):
            raise FieldError(
                f"{self.lhs.target.model._meta.label}.{self.lhs.target.name} is encrypted at rest: it can only be "
                "compared with the empty string; filter in Python on the decrypted values instead."
            )
        return super().get_prep_lookup()


class EncryptedEmailField(EncryptedCharField):
    """An e-mail address encrypted at rest, validated as an e-mail address."""

    default_validators = [validators.validate_email]

    def formfield(self, form_class: Any = None, choices_form_class: Any = None, **kwargs: Any) -> Any:
        form_class = form_class or forms.EmailField
        return super().formfield(form_class=form_class, choices_form_class=choices_form_class, **kwargs)
