"""Production is the default: without OPSVIEW_DEBUG=1 the app needs its secrets, and Django's deploy
check passes with the documented variables. Each case starts its own process with the environment it means."""

import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from django.conf import settings

PRODUCTION = {
    "SECRET_KEY": "p" * 60 + "-not-a-real-secret-but-long-and-varied-1234567890",
    "ALLOWED_HOSTS": "opsview.example.com",
    "OPSVIEW_CREDENTIALS_KEY": Fernet.generate_key().decode(),
    "OPSVIEW_PROXY_SSL_HEADER": "X-Forwarded-Proto",
}


def run(tmp_path, *args, drop=(), **env):
    """``manage.py *args`` in a fresh process with the production variables, less ``drop``, plus ``env``."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPSVIEW_", "SECRET_KEY", "ALLOWED_HOSTS"))}
    base |= {
        "DJANGO_SETTINGS_MODULE": "opsview.settings",
        "OPSVIEW_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'production.sqlite3'}",
    }
    base |= {k: v for k, v in PRODUCTION.items() if k not in drop} | env
    return subprocess.run(
        [sys.executable, str(settings.BASE_DIR / "manage.py"), *args],
        env=base,
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        timeout=120,
    )


def test_the_deploy_check_is_clean_with_the_documented_production_variables(tmp_path):
    result = run(tmp_path, "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_debug_is_off_unless_asked_for(tmp_path):
    shown = run(tmp_path, "shell", "-c", "from django.conf import settings; print(settings.DEBUG)")
    assert shown.stdout.strip().splitlines()[-1] == "False", shown.stderr
    asked = run(tmp_path, "shell", "-c", "from django.conf import settings; print(settings.DEBUG)", OPSVIEW_DEBUG="1")
    assert asked.stdout.strip().splitlines()[-1] == "True", asked.stderr


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS", "OPSVIEW_CREDENTIALS_KEY"])
def test_production_without_a_required_variable_stops_and_names_it(tmp_path, missing):
    result = run(tmp_path, "check", drop=(missing,))

    assert result.returncode != 0
    assert f"{missing} must be set when OPSVIEW_DEBUG=0 or unset (production)" in result.stderr


REQUEST = """
from django.test import Client
http = Client().get("/login/")
https = Client().get("/login/", HTTP_X_FORWARDED_PROTO="https", HTTP_HOST="opsview.example.com")
health = Client().get("/healthz")
print(http.status_code, http.get("Location"))
print(https.status_code, https.get("Strict-Transport-Security"))
print(health.status_code)
"""


def test_production_redirects_to_https_behind_the_proxy_and_sends_hsts(tmp_path):
    assert run(tmp_path, "migrate", "--no-input", "-v", "0").returncode == 0
    # The page's static files as they are in the checkout: collecting them is tests/test_static_files.py's part.
    static = {"OPSVIEW_COLLECTED_STATIC": "0"}
    result = run(tmp_path, "shell", "-c", REQUEST, ALLOWED_HOSTS="opsview.example.com,testserver", **static)

    plain, secure, health = result.stdout.strip().splitlines()[-3:]
    assert plain == "301 https://testserver/login/", result.stderr
    assert secure == "200 max-age=31536000; includeSubDomains"
    assert health == "200"  # load balancers ask for health over plain HTTP inside the network


def test_the_settings_table_documents_every_production_variable():
    readme = (settings.BASE_DIR / "README.md").read_text()
    for name in (
        *PRODUCTION,
        "OPSVIEW_DEBUG",
        "OPSVIEW_SSL_REDIRECT",
        "OPSVIEW_HSTS_SECONDS",
        "EMAIL_HOST",
        "OPSVIEW_LOGIN_FAILURE_LIMIT",
    ):
        assert f"`{name}`" in readme, name
