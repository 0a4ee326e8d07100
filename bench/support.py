"""What the benchmarks share: their PostgreSQL server, their log, and Django set up on a database of their own."""

import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
PG = "postgresql://postgres@127.0.0.1:5432"
PY = sys.executable


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


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_production(database, var_dir, *, redis_db, queue, env=None, wait=120):
    """``scripts/serve-production.sh`` (gunicorn and the django-q2 cluster) on ``database`` and a free loopback port.

    Redis database ``redis_db`` with the task queue named ``queue`` (others may share the server); ``env``
    overrides or adds variables (``Q_WORKERS``, ``WEB_WORKERS``...). Returns ``(process, log_file, base URL)``
    once ``/healthz`` says the task cluster is running; the server's output goes to ``var_dir/server.log``.
    """
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"{PG}/{database}",
        "REDIS_URL": f"redis://127.0.0.1:6379/{redis_db}",
        "Q_USE_REDIS": "1",
        "Q_NAME": queue,
        "BIND": f"127.0.0.1:{port}",
        "ALLOWED_HOSTS": "127.0.0.1",
        "OPSVIEW_VAR_DIR": str(var_dir),
        "OPSVIEW_DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        **(env or {}),
    }
    log_file = open(Path(var_dir) / "server.log", "ab")  # noqa: SIM115 (closed in stop_production)
    process = subprocess.Popen(
        ["bash", str(ROOT / "scripts" / "serve-production.sh")],
        cwd=ROOT,
        env=env,
        stdout=log_file,
        stderr=log_file,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log_file.close()
            raise SystemExit(f"serve-production.sh exited with {process.returncode}; see {var_dir}/server.log")
        try:
            health = httpx.get(f"{base}/healthz", timeout=5)
            if health.status_code == 200 and health.json()["task_cluster"]["state"] == "running":
                return process, log_file, base
        except (httpx.TransportError, ValueError):
            pass
        time.sleep(0.5)
    stop_production(process, log_file)
    raise SystemExit(f"the production profile did not become healthy within {wait} s")


def stop_production(process, log_file):
    """TERM the script, which stops gunicorn and the cluster; True when it ended by itself in time.

    After a minute, whatever is left of it is killed: gunicorn and the cluster run in sessions of their own, so
    their processes are found (and listed before TERM: once the script is gone they are no longer its children).
    """
    clean = True
    if process.poll() is None:
        started = process_tree(process.pid)
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            clean = False
            for pid in started | process_tree(process.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            process.wait()
    log_file.close()
    return clean and process.returncode == 0


class Receiver:
    """A replay target on loopback: a webhook endpoint that counts what it receives, by idempotency key.

    By default it stores every request it accepts (``accepted`` counts them per key) and answers
    ``failure_rate`` of the requests 503 (busy) before storing anything, as bench/soak.py uses it.

    With ``dedupe`` it keeps one record per idempotency key, as an ERP with a unique reference does: a key
    it already stored is answered 200 with the first record's id and stored no more (``repeats``). And it
    can fail after storing, as a real target does, where only the idempotency key protects the sender:
    ``error_after_store`` of the requests store the record and then answer 500; ``hang_after_store`` store
    it and answer only after ``hang`` seconds, past the sender's timeout. ``delay`` slows every answer
    (a slow target).

    What it counts: ``requests`` (every request it answered, however late), ``stored`` (record type and
    external id of each key's record, the first time it was stored), ``records`` (how many times each
    record, by record type and external id, was stored: more than once is a record stored twice, which a
    sender re-using its key never causes), ``repeats``, ``errors`` and ``hangs`` (faults injected).
    """

    def __init__(
        self, failure_rate=0.0, *, dedupe=False, error_after_store=0.0, hang_after_store=0.0, hang=1.0, delay=0.0
    ):
        self.accepted, self.requests, self.refused = Counter(), 0, 0
        self.stored, self.records, self.receipts = {}, Counter(), {}
        self.repeats = self.errors = self.hangs = 0
        self.lock, rng = threading.Lock(), random.Random(7)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body leave in two writes: with Nagle's algorithm the second waits for the client's
            # delayed ACK, 40 ms a request, which was most of what the old replay bench measured.
            disable_nagle_algorithm = True

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                key = self.headers.get("Idempotency-Key")
                if delay:
                    time.sleep(delay)
                status, wait = 200, 0.0
                with receiver.lock:
                    receiver.requests += 1
                    roll = rng.random()
                    if roll < failure_rate:
                        receiver.refused += 1
                        status = 503
                    elif dedupe and key in receiver.stored:
                        receiver.repeats += 1
                        receiver.accepted[key] += 1
                    else:
                        record = _record_of(body)
                        receiver.stored.setdefault(key, record)
                        receiver.receipts.setdefault(key, f"R-{len(receiver.receipts) + 1}")
                        receiver.records[record] += 1
                        if roll < failure_rate + error_after_store:
                            receiver.errors += 1
                            status = 500
                        elif roll < failure_rate + error_after_store + hang_after_store:
                            receiver.hangs += 1
                            wait = hang
                        else:
                            receiver.accepted[key] += 1
                    receipt = receiver.receipts.get(key, "")
                if wait:
                    time.sleep(wait)
                answer = {503: {"error": "busy"}, 500: {"error": "database unavailable"}}.get(status)
                self._answer(status, answer or {"ok": True, "id": receipt})

            def _answer(self, status, answer):
                body = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    self.close_connection = True  # the sender stopped waiting (a timeout) and closed it

            def log_message(self, *args):
                pass

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/records"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def duplicates(self):
        """Records stored more than once (by record type and external id)."""
        with self.lock:
            return sum(1 for n in self.records.values() if n > 1)

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a sender that timed out and hung up
            super().handle_error(request, client_address)


def _record_of(body):
    """The record a webhook body carries: its record type and the payload's external id."""
    try:
        sent = json.loads(body)
        return sent.get("record_type"), (sent.get("payload") or {}).get("external_id")
    except (ValueError, AttributeError):
        return None, None


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


def manage(env, *args):
    """``manage.py *args`` in a process of its own with ``env``; its output, or the bench stops with it."""
    started = time.perf_counter()
    result = subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    named = " ".join(arg for arg in args if "\n" not in arg)  # not a whole script given to ``shell -c``
    if result.returncode != 0:
        raise SystemExit(f"manage.py {named} failed:\n{result.stdout}\n{result.stderr}")
    log(f"  manage.py {named}: {time.perf_counter() - started:.1f}s")
    return result.stdout


class Child:
    """A process of the app (gunicorn, the task cluster) in a session of its own, as a context manager that always
    stops it and all it started, with the tail of its log when the bench failed."""

    def __init__(self, command, env, log_path):
        self.log_path = log_path
        self.log_file = open(log_path, "ab")  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self.log_file, stderr=self.log_file, start_new_session=True
        )

    @property
    def pid(self):
        return self.process.pid

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log_file.close()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, traceback):
        self.stop()
        if exc_type is not None and self.log_path.exists():
            tail = self.log_path.read_text(errors="replace").splitlines()[-20:]
            print(f"{self.log_path.name} (last lines):", *tail, sep="\n", file=sys.stderr)


class Gunicorn(Child):
    """The app under gunicorn."""

    def __init__(self, env, workers, threads, log_path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        command = [
            str(Path(PY).parent / "gunicorn"),
            "opsview.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--timeout",
            "120",
            "--error-logfile",
            str(log_path),
            "--log-level",
            "warning",
        ]
        super().__init__(command, env, log_path)

    def wait_healthy(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"gunicorn did not answer /healthz within {timeout}s")
