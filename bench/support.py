"""What the benchmarks share: their PostgreSQL server, their log, and Django set up on a database of their own."""

import os
import random
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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
    # Pages timed in-process name their static files but nobody fetches them: no collectstatic needed.
    os.environ.setdefault("OPSVIEW_COLLECTED_STATIC", "0")
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


class Receiver:
    """A replay target on loopback: a webhook endpoint counting what it accepts by idempotency key.

    ``failure_rate`` of the requests are answered 503 (busy), as a real target sometimes does.
    """

    def __init__(self, failure_rate=0.0):
        self.accepted, self.requests, self.refused = Counter(), 0, 0
        self.lock, rng = threading.Lock(), random.Random(7)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.requests += 1
                    fail = rng.random() < failure_rate
                    if fail:
                        receiver.refused += 1
                    else:
                        receiver.accepted[self.headers.get("Idempotency-Key")] += 1
                body = b'{"error": "busy"}' if fail else b'{"ok": true}'
                self.send_response(503 if fail else 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/records"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()


def process_tree(pid):
    """``pid`` and every process descended from it, read from /proc (gunicorn's or qcluster's workers)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    # The command name may hold spaces; the fields after its closing parenthesis do not.
                    parents[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    tree, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, of in parents.items() if of == parent and child not in tree]
        tree.update(children)
        frontier.extend(children)
    return tree


def peak_memory_mb(pid):
    """The most resident memory one process has held so far (VmHWM), in MB; 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class MemoryWatch:
    """Samples the peak memory of every process under one parent until stopped.

    Workers may be recycled or stopped before the bench reads them, so each one's peak is read while it
    lives; ``peak_mb`` is the largest single process's peak, ``peaks`` one figure per pid.
    """

    def __init__(self, pid, every=0.25):
        self.pid, self.every, self.peaks = pid, every, {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.every)

    def sample(self):
        for pid in process_tree(self.pid):
            peak = peak_memory_mb(pid)
            if peak:
                self.peaks[pid] = max(peak, self.peaks.get(pid, 0.0))

    def stop(self):
        self.sample()
        self._stop.set()
        self._thread.join()
        return self.peak_mb

    @property
    def peak_mb(self):
        return max(self.peaks.values(), default=0.0)
