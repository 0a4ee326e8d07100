"""The production profile: gunicorn and the task cluster start together, and stop together."""

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from django.db import connection

from tests.process_support import kill_tree, redis_up

ROOT = Path(__file__).resolve().parent.parent


pytestmark = [
    pytest.mark.postgresql,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the production profile runs on PostgreSQL only"),
    pytest.mark.skipif(not redis_up(), reason="the production profile needs Redis at 127.0.0.1:6379"),
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid):
    out = subprocess.run(["ps", "-o", "pid=,args=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return {int(line.split(None, 1)[0]): line.split(None, 1)[1] for line in out.strip().splitlines()}


def group_alive(pgid):
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def profile(tmp_path):
    db = connection.settings_dict
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": "redis://127.0.0.1:6379/14",
        "Q_NAME": f"opsview-test-{os.getpid()}",
        "BIND": f"127.0.0.1:{port}",
        "SECRET_KEY": "test-only-not-secret",
        "ALLOWED_HOSTS": "127.0.0.1",
        "OPSVIEW_VAR_DIR": str(tmp_path),
        "OPSVIEW_PROXY_SSL_HEADER": "X-Forwarded-Proto",
        "OPSVIEW_CREDENTIALS_KEY": Fernet.generate_key().decode(),
        "WEB_WORKERS": "1",
        "WEB_THREADS": "1",
        "Q_WORKERS": "1",
    }
    env.pop("OPSVIEW_DEBUG", None)
    log = open(tmp_path / "serve.log", "ab")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        ["bash", str(ROOT / "scripts" / "serve-production.sh")],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    base, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 90
    try:
        while time.monotonic() < deadline:
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                health = httpx.get(f"{base}/healthz", timeout=5).json()
                if health["task_cluster"]["state"] == "running":
                    break
            except (httpx.TransportError, ValueError):
                pass
            time.sleep(0.5)
        else:
            pytest.fail("the production profile did not become healthy")
        yield process, base
    finally:
        kill_tree(process)  # gunicorn and the cluster run in process groups of their own
        log.close()


def test_both_run_against_postgresql_and_redis_and_term_stops_both(profile):
    process, base = profile
    health = httpx.get(f"{base}/healthz").json()
    assert health["database"] == {"state": "ok", "vendor": "postgresql"}
    assert health["task_cluster"]["workers"] == 1
    assert httpx.get(f"{base}/login/").status_code == 301  # to HTTPS: a TLS-ending proxy stands in front
    assert httpx.get(f"{base}/login/", headers={"X-Forwarded-Proto": "https"}).status_code == 200

    process.send_signal(signal.SIGTERM)

    assert process.wait(timeout=60) == 0
    assert not group_alive(process.pid)  # no gunicorn or cluster process left behind


def test_when_the_cluster_dies_the_web_is_stopped_too_and_the_script_fails(profile):
    process, _ = profile
    (cluster,) = [pid for pid, args in children(process.pid).items() if "qcluster" in args]

    os.kill(cluster, signal.SIGKILL)

    assert process.wait(timeout=60) != 0
    assert not group_alive(process.pid)
