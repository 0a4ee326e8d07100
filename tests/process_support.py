"""Processes a test started: who is below them, whether they live, and stopping the whole tree."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def descendants(pid):
    """All processes below ``pid``, from /proc."""
    children = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def alive(pid):
    """Whether ``pid`` runs (a zombie does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def kill_tree(process):
    """SIGKILL ``process`` (a Popen) and everything below it, whatever process groups they moved to; reap it."""
    for pid in [process.pid, *descendants(process.pid)]:
        if alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    process.wait()


def start_cluster(tmp_path):
    """A real ``manage.py qcluster`` of one worker on the test database (ORM broker), in a session of its own;
    its output goes to ``tmp_path/cluster.log``."""
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
        "Q_WORKERS": "1",
        "OPSVIEW_VAR_DIR": str(tmp_path),
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    log = open(tmp_path / "cluster.log", "ab")  # noqa: SIM115 (closed with the process by the test)
    return subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "qcluster"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )


def redis_up():
    """Whether Redis answers on 127.0.0.1:6379, where the production profile and its cache expect it."""
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False
