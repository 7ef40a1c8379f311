"""Masking of personal data (个人信息去标识化显示, PIPL): how a contact person is shown to someone who may not read it.
One set of rules for every page that shows contacts (typical applications, the supply–demand board)."""

from __future__ import annotations


def mask_name(name: str) -> str:
    """张三丰 → 张**: the family name only, with a fixed mask that does not tell the name's length."""
    return f"{name[:1]}**" if name else ""


def mask_phone(phone: str) -> str:
    """13812345678 → 138****5678: the first three and last four digits stay (as on a delivery slip); a number too
    short to keep seven digits of is hidden whole."""
    digits = [i for i, c in enumerate(phone) if c.isdigit()]
    if len(digits) < 8:
        return "*" * len(phone)
    hidden = set(digits[3:-4])
    return "".join("*" if i in hidden else c for i, c in enumerate(phone))


def mask_email(email: str) -> str:
    """zhang.san@example.cn → z***@example.cn."""
    if "@" not in email:
        return "***" if email else ""
    local, domain = email.split("@", 1)
    return f"{local[:1]}***@{domain}"
