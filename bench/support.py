"""What the benchmarks share: their PostgreSQL server, their log, and Django set up on a database of their own."""

import os
import sys
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
PG = "postgresql://postgres@127.0.0.1:5432"


def log(message):
    print(message, flush=True)


def database_exists(name):
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def drop_database(name):
    if "django.db" in sys.modules:  # this process may still hold connections to it
        from django.db import connections

        connections.close_all()
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def recreate_database(name):
    drop_database(name)
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def setup_django(database, var_dir=None):
    """Django on ``database`` with production settings (no query log kept in memory), migrated."""
    os.environ["DATABASE_URL"] = f"{PG}/{database}"
    os.environ["OPSVIEW_DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
    os.environ.setdefault("OPSVIEW_SSL_REDIRECT", "0")  # benchmarks speak plain HTTP on the loopback
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if not os.environ.get("OPSVIEW_CREDENTIALS_KEY"):
        from cryptography.fernet import Fernet

        # Production settings require one; set here, it is shared with any task cluster a bench starts.
        os.environ["OPSVIEW_CREDENTIALS_KEY"] = Fernet.generate_key().decode()
    if var_dir:
        os.environ.setdefault("OPSVIEW_VAR_DIR", str(ROOT / "var" / var_dir))
        (ROOT / "var" / var_dir).mkdir(parents=True, exist_ok=True)
    os.environ["DJANGO_SETTINGS_MODULE"] = "opsview.settings"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
