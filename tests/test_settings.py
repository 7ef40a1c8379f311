"""Settings come from the environment with the documented defaults."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE = (
    "import json, infocity.settings as s; db = s.DATABASES['default'];"
    "print(json.dumps({'engine': db['ENGINE'], 'name': str(db['NAME']), 'options': db.get('OPTIONS', {}),"
    "'host': db.get('HOST'), 'port': db.get('PORT'), 'debug': s.DEBUG, 'hosts': s.ALLOWED_HOSTS,"
    "'key': s.SECRET_KEY, 'idle': s.SESSION_COOKIE_AGE}))"
)


def settings_with(tmp_path: Path, **env: str) -> dict[str, object]:
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SECRET_KEY", "DEBUG"}}
    clean.update({"INFOCITY_VAR_DIR": str(tmp_path / "var"), **env})
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", PROBE], cwd=ROOT, env=clean, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_defaults(tmp_path: Path) -> None:
    s = settings_with(tmp_path)
    assert s["engine"] == "django.db.backends.sqlite3"
    assert s["name"] == str(tmp_path / "var" / "infocity.sqlite3")
    options = s["options"]
    assert isinstance(options, dict)
    assert options["transaction_mode"] == "IMMEDIATE"
    assert options["timeout"] == 20
    assert "journal_mode=WAL" in options["init_command"]
    assert s["debug"] is False
    assert s["hosts"] == ["127.0.0.1", "localhost", "[::1]"]
    assert s["idle"] == 1800


def test_secret_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = settings_with(tmp_path)["key"]
    assert isinstance(first, str) and len(first) >= 50
    assert settings_with(tmp_path)["key"] == first
    key_file = tmp_path / "var" / "secret_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert settings_with(tmp_path, SECRET_KEY="from-env")["key"] == "from-env"


def test_postgres_through_database_url(tmp_path: Path) -> None:
    s = settings_with(tmp_path, DATABASE_URL="postgres://infocity:pw@db.internal:5433/infocity")
    assert s["engine"] == "django.db.backends.postgresql"
    assert (s["host"], s["port"], s["name"]) == ("db.internal", 5433, "infocity")


def test_debug_and_hosts_from_environment(tmp_path: Path) -> None:
    s = settings_with(tmp_path, DEBUG="1", ALLOWED_HOSTS="infocity.gov.cn, 10.0.0.5")
    assert s["debug"] is True
    assert s["hosts"] == ["infocity.gov.cn", "10.0.0.5"]
