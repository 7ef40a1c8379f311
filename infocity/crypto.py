"""Encryption of personal data at rest (个人信息加密存储, GB/T 22239-2019 level 3 and PIPL).

Contact names, telephone numbers and e-mail addresses are stored encrypted with an authenticated cipher, chosen by
``PERSONAL_DATA_CIPHER``: AES-256-GCM (the default) or SM4-GCM for 国密 deployments (GB/T 32907-2016, through the
OpenSSL build in ``cryptography``). A stored value reads ``enc1:<cipher>:<key id>:<base64 nonce‖ciphertext‖tag>``;
the column it belongs to is bound in as associated data, so a value copied into another column or table does not
decrypt. The key (``PERSONAL_DATA_KEY``, base64) is kept outside the database and its backups; by default it is
derived from ``SECRET_KEY``. Keys listed in ``PERSONAL_DATA_OLD_KEYS`` still decrypt, so the key can be rotated:
set the new key, keep the old one there, run ``manage.py rotate_personal_data_key``, then drop the old key.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from functools import cache
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PREFIX = "enc1"
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_BYTES = {"aes-256-gcm": 32, "sm4-gcm": 16}


class DecryptionError(Exception):
    """A stored value could not be decrypted: its key is not configured, or it was altered."""


@dataclass(frozen=True)
class Key:
    ident: str
    secret: bytes


def _key_id(secret: bytes) -> str:
    return hashlib.sha256(b"infocity-personal-data-key:" + secret).hexdigest()[:8]


def _decode_key(text: str, cipher: str) -> bytes:
    try:
        secret = base64.b64decode(text.strip(), validate=True)
    except ValueError as error:
        raise ImproperlyConfigured(
            "PERSONAL_DATA_KEY 不是有效的 base64 文本，请重新生成（见 README“配置”）。"
        ) from error
    if len(secret) not in KEY_BYTES.values():
        raise ImproperlyConfigured("PERSONAL_DATA_KEY 的长度应为 16 字节（SM4）或 32 字节（AES-256），请重新生成。")
    return secret


def _derived_key(cipher: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES[cipher], salt=None, info=b"infocity personal data")
    return hkdf.derive(settings.SECRET_KEY.encode())


@cache
def _keys(cipher: str, current: str, old: tuple[str, ...]) -> tuple[Key, dict[str, Key]]:
    if cipher not in KEY_BYTES:
        raise ImproperlyConfigured(f"PERSONAL_DATA_CIPHER 只能是 aes-256-gcm 或 sm4-gcm（当前为 {cipher}）。")
    secret = _decode_key(current, cipher) if current else _derived_key(cipher)
    if len(secret) != KEY_BYTES[cipher]:
        raise ImproperlyConfigured(
            f"{cipher} 需要 {KEY_BYTES[cipher]} 字节的 PERSONAL_DATA_KEY（当前为 {len(secret)} 字节），请重新生成。"
        )
    active = Key(_key_id(secret), secret)
    known = {active.ident: active}
    for text in old:
        old_secret = _decode_key(text, cipher)
        known.setdefault(_key_id(old_secret), Key(_key_id(old_secret), old_secret))
    # Values written under the key derived from SECRET_KEY stay readable after an explicit key is set.
    for name in KEY_BYTES:
        derived = _derived_key(name)
        known.setdefault(_key_id(derived), Key(_key_id(derived), derived))
    return active, known


def _configured() -> tuple[str, Key, dict[str, Key]]:
    cipher = settings.PERSONAL_DATA_CIPHER
    active, known = _keys(cipher, settings.PERSONAL_DATA_KEY, tuple(settings.PERSONAL_DATA_OLD_KEYS))
    return cipher, active, known


def _seal(cipher: str, secret: bytes, nonce: bytes, plain: bytes, aad: bytes) -> bytes:
    if cipher == "aes-256-gcm":
        return AESGCM(secret).encrypt(nonce, plain, aad)
    encryptor = Cipher(algorithms.SM4(secret), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(aad)
    return encryptor.update(plain) + encryptor.finalize() + encryptor.tag


def _open(cipher: str, secret: bytes, nonce: bytes, sealed: bytes, aad: bytes) -> bytes:
    if cipher == "aes-256-gcm":
        return AESGCM(secret).decrypt(nonce, sealed, aad)
    body, tag = sealed[:-TAG_BYTES], sealed[-TAG_BYTES:]
    decryptor = Cipher(algorithms.SM4(secret), modes.GCM(nonce, tag)).decryptor()
    decryptor.authenticate_additional_data(aad)
    return decryptor.update(body) + decryptor.finalize()


def is_encrypted(stored: str) -> bool:
    return stored.startswith(PREFIX + ":")


def encrypt(plain: str, context: str) -> str:
    """``plain`` sealed under the active key, bound to ``context`` (the column: ``app.Model.field``)."""
    cipher, active, _ = _configured()
    nonce = os.urandom(NONCE_BYTES)
    sealed = _seal(cipher, active.secret, nonce, plain.encode(), context.encode())
    return f"{PREFIX}:{cipher}:{active.ident}:{base64.b64encode(nonce + sealed).decode()}"


def decrypt(stored: str, context: str) -> str:
    try:
        prefix, cipher, ident, body = stored.split(":", 3)
    except ValueError as error:
        raise DecryptionError("存储的个人信息格式不正确。") from error
    _, _, known = _configured()
    if prefix != PREFIX or cipher not in KEY_BYTES:
        raise DecryptionError("存储的个人信息格式不正确。")
    key = known.get(ident)
    if key is None:
        raise DecryptionError(
            f"个人信息使用的密钥（编号 {ident}）未配置，请把该密钥加入 PERSONAL_DATA_OLD_KEYS 后重试。"
        )
    raw = base64.b64decode(body)
    try:
        return _open(cipher, key.secret, raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode()).decode()
    except InvalidTag as error:
        raise DecryptionError("存储的个人信息校验失败（数据被改动或放错了位置）。") from error


def needs_rotation(stored: str) -> bool:
    """True when ``stored`` is not sealed with the active cipher and key (or is not sealed at all)."""
    if not stored:
        return False
    if not is_encrypted(stored):
        return True
    cipher, active, _ = _configured()
    return not stored.startswith(f"{PREFIX}:{cipher}:{active.ident}:")


def reseal_column(connection: Any, table: str, pk: str, column: str, context: str, *, plain: bool = False) -> int:
    """Rewrite every stored value of one column under the active cipher and key (or, with ``plain``, as plain text,
    which only the reverse of the migration that introduced encryption does). Reads the raw column, so values
    written before encryption are sealed too. Returns the number of rows rewritten."""
    quote = connection.ops.quote_name
    changed = 0
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {quote(pk)}, {quote(column)} FROM {quote(table)}")  # noqa: S608 (names, not input)
        rows = cursor.fetchall()
        for key, stored in rows:
            if not stored:
                continue
            text = decrypt(stored, context) if is_encrypted(stored) else stored
            if plain:
                new = text
            elif needs_rotation(stored):
                new = encrypt(text, context)
            else:
                continue
            if new != stored:
                cursor.execute(f"UPDATE {quote(table)} SET {quote(column)} = %s WHERE {quote(pk)} = %s", [new, key])  # noqa: S608
                changed += 1
    return changed


ENCRYPTED_COLUMNS = {
    # model label: fields holding personal data, encrypted at rest
    "accounts.User": ("email", "phone"),
    "progress.TypicalApplication": ("contact_name", "contact_phone", "contact_email"),
    "portal.BoardPost": ("contact_name", "contact_phone", "contact_email"),
}


def migration(label: str) -> tuple[Any, Any]:
    """The forward and backward functions of the migration that starts encrypting ``label``'s personal data."""

    def run(apps: Any, schema_editor: Any, *, plain: bool) -> None:
        model = apps.get_model(label)
        for name in ENCRYPTED_COLUMNS[label]:
            field = model._meta.get_field(name)
            reseal_column(
                schema_editor.connection, model._meta.db_table, model._meta.pk.column, field.column,
                f"{label}.{name}", plain=plain,
            )  # fmt: skip

    def forward(apps: Any, schema_editor: Any) -> None:
        run(apps, schema_editor, plain=False)

    def backward(apps: Any, schema_editor: Any) -> None:
        run(apps, schema_editor, plain=True)

    return forward, backward


def active_cipher() -> str:
    return _configured()[0]


def active_key_id() -> str:
    return _configured()[1].ident
