"""Sending replays to their targets: a connector per thread and target system, several sends in flight.

A task's replays are sent by up to ``REPLAY_CONCURRENCY`` threads, so that what a target makes a sender wait
for (a slow answer, a retry's backoff, a timeout) holds one send and not the worker. Each thread keeps one
connector per target system for the task, whose HTTP connections stay open across its sends and whose session
(Tryton's login) is its own. Nothing here writes to the database: the task records what came back.
"""

import logging
import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace

from django.conf import settings
from django.db import connections
from django.utils import timezone

from connectors.errors import ConnectorError, NotSupported
from connectors.http import timeout as http_timeout
from opsview.systems.connection import build_connector

logger = logging.getLogger(__name__)


@dataclass
class Delivery:
    """What happened at the target."""

    ok: bool
    duplicate: bool = False
    verified: bool = False
    error_code: str = ""
    error_message: str = ""
    detail: dict = field(default_factory=dict)
    finished_at: object = None  # when the target's answer came (the outcome may be written later)


def deliveries(replays, connector, deadline):
    """``(replay, started, delivery)`` for each of ``replays`` as its send ends, up to REPLAY_CONCURRENCY at a
    time; ``(replay, None, None)`` for one whose send would start after ``deadline``."""
    targets = _Targets(connector)
    width = max(1, min(settings.REPLAY_CONCURRENCY, len(replays)))
    try:
        if width == 1:  # in this thread: nothing to overlap
            for replay in replays:
                yield (replay, None, None) if time.monotonic() > deadline else _deliver(targets, replay)
            return
        with ThreadPoolExecutor(width, thread_name_prefix="replay-send") as pool:
            waiting, running = deque(replays), set()
            while waiting or running:
                while waiting and len(running) < width:
                    replay = waiting.popleft()
                    if time.monotonic() > deadline:
                        yield replay, None, None
                    else:
                        running.add(pool.submit(_deliver_in_thread, targets, replay))
                if running:
                    done, running = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        yield future.result()
    finally:
        targets.close()


class _Targets:
    """One connector per thread and target system, built on first use and closed with the task.

    A connector holds its HTTP connections (kept open across sends to one host) and sometimes a
    session (Tryton's login); one per thread keeps them unshared.
    """

    def __init__(self, connector=None):
        self.given, self.local, self.built, self.lock = connector, threading.local(), [], threading.Lock()

    def get(self, system):
        if self.given is not None:
            return self.given
        mine = self.local.__dict__.setdefault("connectors", {})
        if system.pk not in mine:
            built = build_connector(system, http_options={"timeout": http_timeout(settings.REPLAY_TIMEOUT_SECONDS)})
            with self.lock:
                self.built.append(built)
            mine[system.pk] = built
        return mine[system.pk]

    def close(self):
        for built in self.built:
            built.close()


def _deliver(targets, replay):
    started = timezone.now()
    try:
        delivery = deliver(targets.get(replay.target_system), replay)
    except ConnectorError as error:
        delivery = Delivery(False, error_code=error.code, error_message=error.message)
    except Exception as error:  # a worker must record every failure, not lose the replay
        logger.exception("replay %s failed", replay.pk)
        delivery = Delivery(False, error_code="internal_error", error_message=f"{type(error).__name__}: {error}")
    return replay, started, replace(delivery, finished_at=timezone.now())


def _deliver_in_thread(targets, replay):
    try:
        return _deliver(targets, replay)
    finally:
        connections.close_all()  # this thread's own, if its connector used the database (Xero's token refresh)


def deliver(target, replay):
    """Look the record up where the target can be asked; send it unless it is there; read it back."""
    try:
        existing = target.lookup(replay.record_type, replay.idempotency_key)
    except NotSupported:
        existing = None
    if existing is not None:
        return Delivery(True, duplicate=True, verified=True, detail={"found": existing})
    result = target.send(replay.record_type, replay.payload, replay.idempotency_key)
    if not result.ok:
        return Delivery(False, error_code=result.error_code, error_message=result.error_message, detail=result.detail)
    detail = {"external_id": result.external_id, **(result.detail or {})}
    verified = result.verified
    if not verified:
        try:
            back = target.read_back(replay.record_type, result.external_id or replay.external_id)
        except NotSupported:
            back = None
        if back is not None:
            verified, detail["read_back"] = True, back
    return Delivery(True, duplicate=bool(detail.get("already")), verified=verified, detail=detail)
