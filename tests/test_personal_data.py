"""Personal data encrypted at rest: contact names, telephones and e-mails of accounts, typical applications and
board posts are ciphertext in the database (AES-256-GCM, or SM4-GCM for 国密), plain text to the application."""

from __future__ import annotations

import base64
import io
import os
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.core.exceptions import FieldError
from django.core.management import call_command
from django.db import connection

from infocity import crypto
from infocity.accounts.models import User
from infocity.audit.models import Action, AuditEvent
from infocity.portal import board
from infocity.portal.models import BoardPost
from infocity.progress import services as progress
from infocity.progress.models import TypicalApplication
from infocity.reporting.models import ReportingCycle

from .conftest import Cast
from .test_api_tokens import world as world  # the 2016 cycle fixture
from .test_portal_board import data as board_data
from .test_progress import APPLICATION, report

SM4_KEY = base64.b64encode(bytes(range(16))).decode()


def raw(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608 (test constants)
        return str(cursor.fetchone()[0])


def set_raw(table: str, column: str, pk: int, value: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {column} = %s WHERE id = %s", [value, pk])  # noqa: S608


def post(cast: Cast, **overrides: str) -> BoardPost:
    return board.save_post(actor=cast.users["city-hz"], data=board_data(**overrides))


def test_board_contacts_are_ciphertext_in_the_database(cast: Cast) -> None:
    saved = post(cast)
    for column, plain in [("contact_name", "张三丰"), ("contact_phone", "13812345678"), ("contact_email", "zhangsan")]:
        stored = raw("portal_boardpost", column, saved.pk)
        assert stored.startswith("enc1:aes-256-gcm:"), stored
        assert plain not in stored
    again = BoardPost.objects.get(pk=saved.pk)
    assert (again.contact_name, again.contact_email) == ("张三丰", "zhangsan@example.cn")
    # The same plain text encrypts differently every time (a random nonce): equal values cannot be spotted.
    other = post(cast, title="另一条需求：智慧养老服务平台")
    assert raw("portal_boardpost", "contact_name", other.pk) != raw("portal_boardpost", "contact_name", saved.pk)


def test_account_email_and_phone_are_ciphertext(cast: Cast) -> None:
    user = cast.users["city-hz"]
    User.objects.filter(pk=user.pk).update(email="li.si@hangzhou.gov.cn", phone="0571-87654321")
    assert raw("accounts_user", "email", user.pk).startswith("enc1:")
    assert "hangzhou" not in raw("accounts_user", "email", user.pk)
    fresh = User.objects.get(pk=user.pk)
    assert (fresh.email, fresh.phone) == ("li.si@hangzhou.gov.cn", "0571-87654321")
    # "No value" stays queryable.
    assert User.objects.filter(email="").exclude(pk=user.pk).count() == User.objects.count() - 1


def test_typical_application_contacts_are_ciphertext(cast: Cast, world: ReportingCycle, settings: Any) -> None:
    settings.REPORTING_TODAY = "2016-11-20"
    year = report(cast, "2016-R2")
    app = progress.save_application(actor=cast.users["city-hz"], submission=year, data=APPLICATION)
    for column in ("contact_name", "contact_phone", "contact_email"):
        stored = raw("progress_typicalapplication", column, app.pk)
        assert stored.startswith("enc1:") and APPLICATION[column] not in stored
    assert TypicalApplication.objects.get(pk=app.pk).contact_phone == "0571-5555-0101"
    # Shown in full to the city, masked to the enterprise that did not enter it (the rule of infocity/privacy.py).
    page = cast.client("city-hz").get(f"/progress/applications/{app.pk}/").content.decode()
    assert "0571-5555-0101" in page


def test_a_value_moved_to_another_column_or_altered_does_not_decrypt(cast: Cast) -> None:
    saved = post(cast)
    name = raw("portal_boardpost", "contact_name", saved.pk)
    set_raw("portal_boardpost", "contact_phone", saved.pk, name)
    with pytest.raises(crypto.DecryptionError, match="校验失败"):
        BoardPost.objects.get(pk=saved.pk)
    flipped = name[:-6] + ("A" if name[-6] != "A" else "B") + name[-5:]
    set_raw("portal_boardpost", "contact_phone", saved.pk, raw("portal_boardpost", "contact_email", saved.pk))
    set_raw("portal_boardpost", "contact_name", saved.pk, flipped)
    with pytest.raises(crypto.DecryptionError):
        BoardPost.objects.get(pk=saved.pk)


def test_hostile_input_that_looks_like_ciphertext_is_stored_as_text(cast: Cast) -> None:
    sneaky = "enc1:aes-256-gcm:00000000:AAAA"
    saved = post(cast, contact_name=sneaky[:50])
    assert BoardPost.objects.get(pk=saved.pk).contact_name == sneaky[:50]
    assert raw("portal_boardpost", "contact_name", saved.pk) != sneaky[:50]


def test_encrypted_columns_cannot_be_searched_by_accident(cast: Cast) -> None:
    with pytest.raises(FieldError, match="Unsupported lookup 'icontains'"):
        list(BoardPost.objects.filter(contact_name__icontains="张"))
    with pytest.raises(FieldError, match="encrypted at rest"):
        list(BoardPost.objects.filter(contact_name="张三丰"))
    with pytest.raises(FieldError, match="Unsupported lookup 'in'"):
        list(User.objects.filter(email__in=["a@example.cn"]))


def test_sm4_gcm_for_guomi_deployments(cast: Cast, settings: Any) -> None:
    # The GB/T 32907-2016 example: SM4 itself, through the same library the field uses.
    key = bytes.fromhex("0123456789abcdeffedcba9876543210")
    encryptor = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()  # noqa: S305 (a single-block known answer)
    assert (encryptor.update(key) + encryptor.finalize()).hex() == "681edf34d206965e86b3e94f536e4246"

    settings.PERSONAL_DATA_CIPHER = "sm4-gcm"
    settings.PERSONAL_DATA_KEY = SM4_KEY
    saved = post(cast)
    stored = raw("portal_boardpost", "contact_phone", saved.pk)
    assert stored.startswith(f"enc1:sm4-gcm:{crypto.active_key_id()}:")
    assert BoardPost.objects.get(pk=saved.pk).contact_phone == "13812345678"


def test_a_wrong_key_length_is_a_configuration_error(settings: Any) -> None:
    from django.core.exceptions import ImproperlyConfigured

    settings.PERSONAL_DATA_CIPHER = "aes-256-gcm"
    settings.PERSONAL_DATA_KEY = SM4_KEY  # 16 bytes: an SM4 key
    with pytest.raises(ImproperlyConfigured, match="32 字节"):
        crypto.encrypt("x", "t.T.f")
    settings.PERSONAL_DATA_CIPHER = "des"
    with pytest.raises(ImproperlyConfigured, match="aes-256-gcm 或 sm4-gcm"):
        crypto.encrypt("x", "t.T.f")


def test_rotating_the_key_and_the_cipher(cast: Cast, settings: Any) -> None:
    first = post(cast)
    old_key = raw("portal_boardpost", "contact_name", first.pk).split(":")[2]
    new_key = base64.b64encode(os.urandom(16)).decode()
    settings.PERSONAL_DATA_CIPHER = "sm4-gcm"
    settings.PERSONAL_DATA_KEY = new_key
    # Values sealed under the earlier key still read while it is known (derived from SECRET_KEY here) …
    assert BoardPost.objects.get(pk=first.pk).contact_name == "张三丰"
    call_command("rotate_personal_data_key", stdout=io.StringIO())
    # … and the command reseals every value under the new cipher and key, in one audited step.
    stored = raw("portal_boardpost", "contact_name", first.pk)
    assert stored.startswith(f"enc1:sm4-gcm:{crypto.active_key_id()}:") and old_key not in stored.split(":")[2]
    assert BoardPost.objects.get(pk=first.pk).contact_name == "张三丰"
    event = AuditEvent.objects.get(action=Action.PERSONAL_DATA_REKEY)
    assert event.detail["cipher"] == "sm4-gcm"
    assert event.detail["rewritten"]["portal.BoardPost.contact_name"] == 1
    # Running it again rewrites nothing.
    call_command("rotate_personal_data_key", stdout=io.StringIO())
    assert (
        AuditEvent.objects.filter(action=Action.PERSONAL_DATA_REKEY)
        .latest("id")
        .detail["rewritten"]["portal.BoardPost.contact_name"]
        == 0
    )


def test_values_written_before_encryption_are_sealed_by_the_migration_step(cast: Cast) -> None:
    saved = post(cast)
    set_raw("portal_boardpost", "contact_name", saved.pk, "王五")  # as a row from before the migration
    assert BoardPost.objects.get(pk=saved.pk).contact_name == "王五"
    forward, backward = crypto.migration("portal.BoardPost")
    from django.apps import apps

    class Editor:
        connection = connection

    forward(apps, Editor())
    assert raw("portal_boardpost", "contact_name", saved.pk).startswith("enc1:")
    assert BoardPost.objects.get(pk=saved.pk).contact_name == "王五"
    backward(apps, Editor())
    assert raw("portal_boardpost", "contact_name", saved.pk) == "王五"
    assert raw("portal_boardpost", "contact_phone", saved.pk) == "13812345678"
