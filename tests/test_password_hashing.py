"""Passwords are stored with Argon2id at OWASP's parameters; older hashes still sign in and are re-hashed once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import argon2
import pytest
from django.contrib.auth.hashers import check_password, identify_hasher, make_password
from django.test import Client

from infocity import settings as project_settings
from infocity.accounts.models import User

from .conftest import PASSWORD, Cast

ARGON2ID_OWASP = "argon2$argon2id$v=19$m=19456,t=2,p=1$"


@pytest.fixture
def production_hashers(settings: Any) -> None:
    """The project's hashers (the test settings use MD5 elsewhere, for speed)."""
    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS


def sign_in(username: str) -> int:
    return Client().post("/accounts/login/", {"username": username, "password": PASSWORD}).status_code


def test_new_passwords_are_argon2id_at_owasp_minimum(production_hashers: None) -> None:
    encoded = make_password("Xy#2016-city")
    assert encoded.startswith(ARGON2ID_OWASP)
    assert check_password("Xy#2016-city", encoded)
    assert not check_password("Xy#2016-citY", encoded)
    # Each hash has its own salt.
    assert make_password("Xy#2016-city") != encoded


def pbkdf2_hash() -> str:
    """What Django stored before (PBKDF2-SHA256, 1,000,000 iterations)."""
    return make_password(PASSWORD, hasher="pbkdf2_sha256")


def argon2_django_defaults_hash() -> str:
    """Argon2 with Django's own parameters (100 MiB, t = 2, p = 8), in Django's encoding."""
    return "argon2" + argon2.PasswordHasher(time_cost=2, memory_cost=102400, parallelism=8).hash(PASSWORD)


@pytest.mark.parametrize("old_hash", [pbkdf2_hash, argon2_django_defaults_hash])
def test_an_older_hash_signs_in_and_is_rehashed_once(
    production_hashers: None, cast: Cast, old_hash: Callable[[], str]
) -> None:
    User.objects.filter(username="city-hz").update(password=old_hash())
    assert sign_in("city-hz") == 302
    upgraded = User.objects.get(username="city-hz").password
    assert upgraded.startswith(ARGON2ID_OWASP)
    assert identify_hasher(upgraded).algorithm == "argon2"
    # The next login verifies the new hash and leaves it alone (no re-hash, no write, on every login).
    assert sign_in("city-hz") == 302
    assert User.objects.get(username="city-hz").password == upgraded
