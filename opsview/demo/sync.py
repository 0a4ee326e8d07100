"""Integration jobs of the demo: run schedules, delivery attempts and the sync events they leave.

Each flow runs on a fixed schedule. A record ready at time t is picked up by the
next run; if the target rejects it, the failure stays until its cause is fixed
(a mapping added, a contract updated, a period reopened), and the next run after
an operator's replay sends it again. Some causes are never fixed: those records
are the demo's open exceptions.
"""

import math
from dataclasses import dataclass
from datetime import timedelta

from opsview.demo import catalog
from opsview.telemetry.models import Outcome, RunStatus

SUCCEEDED, FAILED, SKIPPED = Outcome.SUCCEEDED.value, Outcome.FAILED.value, Outcome.SKIPPED.value
RECEIVED_AFTER = timedelta(seconds=2)  # what the ingest API takes to store an event

EVENT_COLUMNS = (
    "workspace_id",
    "event_id",
    "run_id",
    "record_type",
    "external_id",
    "source_system_id",
    "target_system_id",
    "outcome",
    "error_code",
    "error_message",
    "payload",
    "correlation_id",
    "occurred_at",
    "received_at",
)


@dataclass(frozen=True)
class Flow:
    name: str
    short: str
    source: str
    target: str
    record_type: str
    every_hours: int
    minute: int


TIME_TO_ERP = Flow("time_entries_to_erp", "te2erp", "harvest", "tryton", "time_entry", 3, 5)
TIME_TO_BILLING = Flow("time_entries_to_billing", "te2bill", "harvest", "xero", "time_entry", 6, 20)
INVOICES_TO_ERP = Flow("invoices_to_erp", "inv2erp", "xero", "tryton", "invoice", 6, 40)
FLOWS = (TIME_TO_ERP, TIME_TO_BILLING, INVOICES_TO_ERP)


class Schedule:
    """The runs of one flow in one workspace, from the window's start until now, and their tallies."""

    def __init__(self, flow, first_day_start, now, rng, outage_rate=0.004):
        self.flow = flow
        self.t0 = first_day_start + timedelta(minutes=flow.minute)
        self.period = flow.every_hours * 3600
        self.count = int((now - self.t0).total_seconds() // self.period) + 1
        self.starts = [self.t0 + timedelta(seconds=k * self.period) for k in range(self.count)]
        # A few runs die as a whole (the target was down); what they would have sent waits for the next.
        self.outages = {
            k: rng.randrange(len(catalog.OUTAGE_MESSAGES)) for k in range(self.count - 1) if rng.random() < outage_rate
        }
        self.succeeded = [0] * self.count
        self.failed = [0] * self.count
        self.skipped = [0] * self.count
        self.tallies = {SUCCEEDED: self.succeeded, FAILED: self.failed, SKIPPED: self.skipped}
        self.external_ids = [f"{flow.short}-{started:%Y%m%dT%H%M}" for started in self.starts]
        self.pks = []

    def next_run(self, t):
        """Index of the first run that starts at or after ``t`` and did not die; None if none has yet."""
        k = max(0, math.ceil((t - self.t0).total_seconds() / self.period))
        while k in self.outages:
            k += 1
        return k if k < self.count else None

    def run_rows(self, plan, now):
        """The final fields of each run, in order: status, finish time and tallies as its events left them."""
        flow = self.flow
        for k, started in enumerate(self.starts):
            done = self.succeeded[k] + self.failed[k] + self.skipped[k]
            finished = started + timedelta(seconds=25 + done * 0.35)
            status, message = RunStatus.SUCCEEDED.value, ""
            if k in self.outages:
                status = RunStatus.FAILED.value
                message = catalog.OUTAGE_MESSAGES[self.outages[k]].format(domain=plan.firm.domain)
                finished = started + timedelta(seconds=31)
            elif self.failed[k]:
                status = RunStatus.PARTIAL.value
                message = f"{self.failed[k]} of {done} records rejected by {flow.target}"
            if finished > now:
                status, finished = RunStatus.RUNNING.value, None
            yield {
                "external_id": self.external_ids[k],
                "status": status,
                "started_at": started,
                "finished_at": finished,
                "records_total": done,
                "records_succeeded": self.succeeded[k],
                "records_failed": self.failed[k],
                "records_skipped": self.skipped[k],
                "message": message,
            }


class Failure:
    """A rejection by the target: its code, message, and when its cause goes away (None: not yet)."""

    __slots__ = ("code", "message", "fixed_at")

    def __init__(self, code, message, fixed_at):
        self.code, self.message, self.fixed_at = code, message, fixed_at


class EventBudget:
    """Steers the total number of events towards a requested size.

    The records themselves leave a natural number of events. A larger request adds
    re-checks of already synced records in later runs (skipped: unchanged, or
    re-sent after an edit); a smaller one leaves out some first-time successes.
    Failures and their retries are always kept, so the stories stay whole.
    """

    # Events an entry leaves on its own, on average: to the ERP, to billing, a retry now and then.
    NATURAL_PER_ENTRY = 1.7

    def __init__(self, target_events, expected_entries):
        self.target = target_events
        self.expected_entries = max(1, expected_entries)
        self.extra, self.keep, self.credit = 0.0, 1.0, 0.0
        self.update(1, self.NATURAL_PER_ENTRY, 0)  # aim before the first entry; real counts take over after

    def update(self, entries_done, natural, emitted):
        """Re-aim from what was made so far: entries, events the records called for, events written."""
        if self.target is None or entries_done == 0:
            return
        per_entry = natural / entries_done
        remaining_natural = per_entry * max(0, self.expected_entries - entries_done)
        remaining_target = max(0, self.target - emitted)
        if remaining_natural <= 0:
            self.extra, self.keep = 0.0, 1.0
            return
        ratio = remaining_target / remaining_natural
        self.extra, self.keep = max(0.0, ratio - 1.0), min(1.0, ratio)

    def extras(self):
        """How many extra re-checks to add after one success."""
        self.credit += self.extra
        n = int(self.credit)
        self.credit -= n
        return n


class EventWriter:
    """Turns delivery attempts into sync events of one workspace, tallied on their runs."""

    def __init__(self, rng, sink, workspace_pk, systems, budget, now):
        self.rng = rng
        self.sink = sink
        self.workspace_pk = workspace_pk
        self.systems = systems
        self.budget = budget
        self.now = now
        self.natural = 0
        self.emitted = 0

    def emit(self, schedule, k, external_id, outcome, payload, code="", message=""):
        """Write one event into run ``k`` of ``schedule`` and count it on the run."""
        n = schedule.succeeded[k] + schedule.failed[k] + schedule.skipped[k]
        occurred = min(schedule.starts[k] + timedelta(seconds=4 + n * 0.35), self.now)
        flow = schedule.flow
        h = f"{self.rng.getrandbits(128):032x}"
        self.sink.add(
            (
                self.workspace_pk,
                f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}",
                schedule.pks[k],
                flow.record_type,
                external_id,
                self.systems[flow.source],
                self.systems[flow.target],
                outcome,
                code,
                message,
                payload,
                schedule.external_ids[k],
                occurred,
                occurred + RECEIVED_AFTER,
            )
        )
        schedule.tallies[outcome][k] += 1
        self.emitted += 1

    def deliver(self, schedule, ready_at, external_id, payload, check):
        """Send one record from ``ready_at`` on until it is accepted or its failure is never fixed.

        ``check(run_started_at, attempt)`` returns None when the target accepts it, or a Failure.
        Returns when it was accepted, or None.
        """
        rng = self.rng
        k = schedule.next_run(ready_at)
        attempt, retried = 0, None
        while k is not None:
            if k == retried:
                # A run handles a record once: the nightly retry already took it in this run, the next one sends it.
                k = schedule.next_run(schedule.starts[k] + timedelta(seconds=1))
                if k is None:
                    return None
            started = schedule.starts[k]
            failure = check(started, attempt)
            self.natural += 1
            if failure is None:
                if attempt or rng.random() < self.budget.keep:
                    self.emit(schedule, k, external_id, SUCCEEDED, payload)
                self._recheck(schedule, k, external_id, payload)
                return started
            self.emit(schedule, k, external_id, FAILED, payload, failure.code, failure.message)
            attempt += 1
            retry = started + timedelta(days=1)
            if (failure.fixed_at is None or failure.fixed_at > retry) and rng.random() < 0.3:
                # The nightly automatic retry fails the same way before anyone fixes the cause.
                k2 = retried = schedule.next_run(retry)
                if k2 is not None:
                    self.natural += 1
                    self.emit(schedule, k2, external_id, FAILED, payload, failure.code, failure.message)
            if failure.fixed_at is None:
                return None
            k = schedule.next_run(failure.fixed_at + timedelta(hours=rng.uniform(1, 30)))
        return None

    def skip(self, schedule, ready_at, external_id, payload):
        """A record the job looked at and had no reason to send (not billable, say)."""
        k = schedule.next_run(ready_at)
        if k is not None:
            self.natural += 1
            if self.rng.random() < self.budget.keep:
                self.emit(schedule, k, external_id, SKIPPED, payload)

    def _recheck(self, schedule, k, external_id, payload):
        n = self.budget.extras()
        runs_per_week = 7 * 24 // schedule.flow.every_hours
        seen = set()
        for _ in range(n):
            k2 = k + self.rng.randrange(1, runs_per_week * 3)
            if k2 >= schedule.count or k2 in schedule.outages:
                continue
            unchanged = self.rng.random() < 0.8
            if k2 in seen:
                continue  # a run looks at a record once; what it counts are records (drawn anyway: same stream)
            seen.add(k2)
            if unchanged:
                self.emit(schedule, k2, external_id, SKIPPED, None)
            else:
                self.emit(schedule, k2, external_id, SUCCEEDED, payload)
