"""HIGGSWEB_ENV=production: Django's deployment checks pass with no warning, and the app
refuses to start while a secret it needs is missing."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_VARS = ("HIGGSWEB_ENV", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "DEBUG", "USE_SIMULATOR",
                 "HIGGSFIELD_API_KEY", "HIGGSFIELD_API_SECRET", "HIGGSFIELD_WEBHOOK_SECRET", "REDIS_URL",
                 "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SESSION_COOKIE_SECURE", "EMAIL_HOST")


def production_env(tmp_path, **changes):
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARS and not k.startswith("PYTEST")}
    env.update({
        "HIGGSWEB_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "studio.example.org",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        "HIGGSFIELD_API_KEY": "key-id",
        "HIGGSFIELD_API_SECRET": "key-secret",
        "HIGGSFIELD_WEBHOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    })
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def manage(env, *args):
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_check_deploy_passes_without_a_single_warning(tmp_path):
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_passes_on_the_simulator_too(tmp_path):
    env = production_env(tmp_path, USE_SIMULATOR="true", HIGGSFIELD_API_KEY=None, HIGGSFIELD_API_SECRET=None,
                         HIGGSFIELD_WEBHOOK_SECRET=None)
    result = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_development_settings_would_fail_the_deploy_check(tmp_path):
    env = production_env(tmp_path, HIGGSWEB_ENV=None)
    result = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    assert "security.W018" in result.stderr  # DEBUG


@pytest.mark.parametrize("name", ["SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "HIGGSFIELD_API_KEY",
                                  "HIGGSFIELD_API_SECRET", "HIGGSFIELD_WEBHOOK_SECRET"])
def test_production_refuses_to_start_without_each_secret(tmp_path, name):
    result = manage(production_env(tmp_path, **{name: None}), "check")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"needs these environment variables: {name}" in result.stderr


def test_production_names_everything_missing_at_once(tmp_path):
    env = production_env(tmp_path, SECRET_KEY=None, DATABASE_URL=None, HIGGSFIELD_WEBHOOK_SECRET=None)
    result = manage(env, "check")
    assert "SECRET_KEY, DATABASE_URL, HIGGSFIELD_WEBHOOK_SECRET" in result.stderr


def test_production_refuses_the_development_secret_key(tmp_path):
    env = production_env(tmp_path, SECRET_KEY="dev-only-secret-key-change-me-in-production-0123456789")
    result = manage(env, "check")
    assert result.returncode != 0
    assert "SECRET_KEY (not the development key)" in result.stderr


def test_production_ignores_debug_from_the_environment_and_turns_on_https(tmp_path):
    env = production_env(tmp_path, DEBUG="true", SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto")
    code = ("from django.conf import settings as s; print(s.DEBUG, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, "
            "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_PROXY_SSL_HEADER, s.LOG_FORMAT)")
    result = manage(env, "shell", "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[-2] == (
        "False True 31536000 True True ('HTTP_X_FORWARDED_PROTO', 'https') json")
