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


def production(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    # (the browser tests' async switch is not part of a deployment)
    ignored = {"DATABASE_URL", "SECRET_KEY", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if k not in ignored}
    clean.update({"INFOCITY_VAR_DIR": str(tmp_path / "var"), "DJANGO_SETTINGS_MODULE": "infocity.settings_production"})
    clean.update(env)
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args], cwd=ROOT, env=clean, capture_output=True, text=True, check=False
    )


PRODUCTION_KEYS = {
    "SECRET_KEY": "k7#Qw9!zR2@pL5$vX8^mN1&bT4*cY6(jH3)fG0_sD-eA+uI=oP[lK]nM{rE}tW|yU~",
    "AUDIT_HMAC_KEY": "audit-key-kept-apart-from-the-database",
    "PERSONAL_DATA_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
    "ALLOWED_HOSTS": "infocity.example.gov.cn",
}


def test_production_settings_pass_the_deployment_checks(tmp_path: Path) -> None:
    result = production(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_KEYS)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_settings_refuse_to_start_without_their_keys(tmp_path: Path) -> None:
    for missing, says in [("SECRET_KEY", "SECRET_KEY"), ("AUDIT_HMAC_KEY", "AUDIT_HMAC_KEY"),
                          ("PERSONAL_DATA_KEY", "PERSONAL_DATA_KEY")]:  # fmt: skip
        env = {k: v for k, v in PRODUCTION_KEYS.items() if k != missing}
        result = production(tmp_path, "check", **env)
        assert result.returncode != 0 and says in result.stderr and "生产环境必须" in result.stderr, missing


def test_a_bad_host_header_is_a_clean_400_with_the_security_headers(db: None) -> None:
    from django.test import Client

    response = Client(HTTP_HOST="evil.example").get("/portal/")
    assert response.status_code == 400
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
