"""Points the demo's Tryton systems at the running demo ERP and lets Tryton itself refuse the open failures.

After ``seed_demo`` the failures the generator planted for Tryton are its guesses.
When the demo ERP answers, each workspace's "Tryton ERP" system gets connector
settings and credentials for its firm's database, and every record whose last
event to Tryton failed for a cause Tryton can judge is sent there once: the
record's failed events then carry Tryton's real answer (code and words), before
``backfill_queues`` classifies them. Tryton does not check rates: a rate the ERP
contract lacks shows there as an employment that ended before the new contract
(see ``firms.py``). A record Tryton accepts when sent again reached it: a succeeded
event at the time of sending says so (an invoice is posted), Tryton holds it (a posting),
and its exception resolves on the next backfill.
"""

import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from django.db import transaction
from django.utils import timezone

from connectors.errors import ConnectorError
from connectors.tryton import TrytonConnector
from opsview.demo import catalog
from opsview.demo.erp import env
from opsview.demo.erp.settings import erp_url
from opsview.demo.postings import resent_posting
from opsview.queues.models import Kind, KindSetting
from opsview.queues.policies import DEFAULTS
from opsview.records.models import Invoice, InvoiceStatus, Posting
from opsview.records.sides import carried_by, refresh_entries_carried
from opsview.systems.models import System
from opsview.telemetry.models import Outcome, SyncEvent

POLL_MINUTES = 15
SENDERS = 4
# Failures Tryton (or the connector's look-up in it) really refuses: sent again to get its own words.
TRYTON_JUDGES = {
    ("time_entry", catalog.UNKNOWN_PROJECT),  # the project is in Tryton under another number
    ("time_entry", catalog.PERIOD_CLOSED),  # the project's work takes no time before the first open month
    ("time_entry", catalog.RATE_MISMATCH),  # Tryton employs the person until their new contract began
    ("invoice", catalog.TAX_CODE_MISSING),  # the tax is not in Tryton
    ("invoice", catalog.PERIOD_CLOSED),  # dated back into a month Tryton closed
    ("invoice", catalog.NO_REVENUE_ACCOUNT),  # the project's service product has no revenue account in Tryton
}


def connect_demo_erp(workspaces, progress=None) -> dict | None:
    """Configure the workspaces' Tryton systems and replace judged failures with Tryton's answers.

    Returns what was done (per workspace: records sent, refused, accepted; seconds), or
    None when the demo ERP does not answer (the systems keep empty settings then).
    """
    progress = progress or (lambda message: None)
    with quiet("httpx", "connectors.http"):  # one line per request would drown the seed's own report
        return _connect(workspaces, progress)


@contextmanager
def quiet(*names):
    """Only warnings from the loggers ``names`` while inside; their levels as they were afterwards."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _connect(workspaces, progress):
    url = erp_url()
    if not env.answers(url):
        return None
    began, done = time.monotonic(), {}
    for workspace in workspaces:
        system = System.objects.filter(workspace=workspace, slug="tryton").first()
        if system is None:
            continue
        settings = {
            "url": url,
            "database": workspace.slug,
            "username": env.ADMIN_USER,
            "accept_warnings": True,
            "poll_minutes": POLL_MINUTES,
        }
        with _connector(url, workspace.slug) as connector:
            try:
                answered = connector.check()
            except ConnectorError as error:
                progress(f"{workspace.slug}: the demo ERP has no usable database ({error}); left unconfigured")
                continue
            system.connector_settings = settings
            system.credentials = {"password": env.ADMIN_PASSWORD}
            system.save(update_fields=["connector_settings", "credentials_encrypted"])
            system.record_connection(True, answered)
        _guide_to_the_demo_erp(workspace, url)
        done[workspace.slug] = _resend_failures(url, workspace.slug, system)
    progress(f"Demo ERP: {done} in {time.monotonic() - began:.1f} s")
    return {"workspaces": done, "seconds": round(time.monotonic() - began, 1)}


def _guide_to_the_demo_erp(workspace, url):
    """The fix guides of the firm's ERP kinds, with where this demo's Tryton is and how its fixes are made.

    The demo installs no Tryton client: an accountant's fix is one ``demo_erp fix`` command
    through the running server. Written as the firm's own guide, which an admin can edit.
    """
    firm = workspace.slug
    where = (
        f"\n\nIn this demo the ERP is a local Tryton at {url} (database {firm}, user {env.ADMIN_USER}; "
        'README, "The demo ERP"). Make the fix from the command line, through the running server, then '
        "replay: "
    )
    commands = {
        Kind.POSTING_FAILURE: (
            f".venv/bin/python manage.py demo_erp fix {firm} reopen-timesheets PROJECT_CODE YYYY-MM-01 (a project's "
            f"timesheets closed); … fix {firm} reopen-period YYYY-MM-DD (an accounting period); … fix {firm} "
            f"set-revenue-account 'Advisory retainer' (a product without a revenue account); … fix {firm} "
            "extend-employee PERSON_CODE - (an employment that ended)."
        ),
        Kind.MISSING_MAPPING: (
            "a project the ERP was never told about is in Tryton under its code with the digits raised by 1000 "
            "(NW-0451 is NW-1451): map it here, and reopen that project's timesheets if the records' month is "
            f"closed (.venv/bin/python manage.py demo_erp fix {firm} reopen-timesheets NW-1451 YYYY-MM-01); a tax "
            f"Tryton lacks is added with … fix {firm} add-tax NAME RATE, or mapped to one it has."
        ),
    }
    for kind, command in commands.items():
        default = DEFAULTS[kind]
        KindSetting.objects.get_or_create(
            workspace=workspace,
            kind=kind,
            defaults={
                "threshold_days": default.threshold_days,
                "sla_hours": default.sla_hours,
                "fix_guide": default.fix_guide + where + command,
            },
        )


def _resend_failures(url, database, system):
    last = {}
    # Sync events are found by workspace first: they have no index by system alone.
    of_system = SyncEvent.objects.filter(workspace_id=system.workspace_id, target_system=system)
    failed = of_system.filter(outcome=Outcome.FAILED).values_list("record_type", "external_id")
    keys = set(failed)
    events = (
        of_system.filter(record_type__in={r for r, _ in keys}, external_id__in={e for _, e in keys})
        .order_by("occurred_at", "id")
        .values_list("record_type", "external_id", "outcome", "error_code", "payload", "source_system_id")
    )
    for record_type, external_id, outcome, code, payload, source in events.iterator():
        last[(record_type, external_id)] = (outcome, code, payload, source)
    todo = [
        (record_type, external_id, payload, source)
        for (record_type, external_id), (outcome, code, payload, source) in sorted(last.items())
        if outcome == Outcome.FAILED and (record_type, code) in TRYTON_JUDGES and payload
    ]
    began = time.monotonic()
    # Time goes by a few sessions at once. Invoices go one at a time in date order, as a billing job posts
    # them: Tryton numbers invoices in date order and refuses one dated before an invoice it numbered.
    entries = [i for i, item in enumerate(todo) if item[0] != "invoice"]
    invoices = sorted(
        (i for i, item in enumerate(todo) if item[0] == "invoice"),
        key=lambda i: (str(todo[i][2].get("date", "")), todo[i][1]),
    )
    answers = [None] * len(todo)
    for i, answer in zip(entries, _send_all(url, database, [todo[i][:3] for i in entries]), strict=True):
        answers[i] = answer
    # An entry's answer naming no reason (a plain UserError, a retryable failure) may come from sending in
    # parallel to one database: those are asked once more, one at a time.
    again = [i for i in entries if not answers[i].ok and (answers[i].retryable or answers[i].error_code == "UserError")]
    with _connector(url, database) as connector:
        for i in invoices + again:
            record_type, external_id, payload, _source = todo[i]
            answers[i] = connector.send(record_type, payload, f"demo-{record_type}-{external_id}")
    tally = {"sent": len(todo), "refused": 0, "accepted": 0, "seconds": round(time.monotonic() - began, 1)}
    accepted, held = [], []
    with transaction.atomic():
        for (record_type, external_id, payload, source), answer in zip(todo, answers, strict=True):
            if answer.ok:
                accepted.append(_reached(system, record_type, external_id, payload, source, answer))
                held.append(resent_posting(system, record_type, external_id, payload, source, answer.external_id))
                continue
            tally["refused"] += 1
            of_system.filter(record_type=record_type, external_id=external_id, outcome=Outcome.FAILED).update(
                error_code=answer.error_code[:80], error_message=answer.error_message
            )
        SyncEvent.objects.bulk_create(accepted)
        # Tryton holds what it took: reconciliation finds it there, as it finds what the generator delivered.
        Posting.objects.bulk_create(held, ignore_conflicts=True)
        refresh_entries_carried(system.workspace_id, carried_by(held))
        # An invoice Tryton took is posted there: the billing system's copy says so, as after any posting.
        posted = [e.external_id for e in accepted if e.record_type == "invoice"]
        Invoice.objects.filter(
            workspace_id=system.workspace_id, external_id__in=posted, status=InvoiceStatus.ISSUED
        ).update(status=InvoiceStatus.POSTED, posted_at=timezone.now())
    tally["accepted"] = len(accepted)
    return tally


def _reached(system, record_type, external_id, payload, source, answer):
    """The succeeded event of a record Tryton took when sent again: it reached its target, now."""
    now = timezone.now()
    return SyncEvent(
        workspace_id=system.workspace_id,
        event_id=f"demo-erp-{uuid.uuid4()}",
        record_type=record_type,
        external_id=external_id,
        source_system_id=source,
        target_system=system,
        outcome=Outcome.SUCCEEDED,
        payload=payload,
        correlation_id=f"demo-erp-resend-{answer.external_id}",
        occurred_at=now,
        received_at=now,
    )


def _send_all(url, database, todo):
    """Tryton's answers to ``todo``, sent by a few sessions at once (the server answers requests in parallel)."""
    local, opened = threading.local(), []

    def send(item):
        connector = getattr(local, "connector", None)
        if connector is None:
            connector = local.connector = _connector(url, database)
            opened.append(connector)
        record_type, external_id, payload = item
        return connector.send(record_type, payload, f"demo-{record_type}-{external_id}")

    try:
        with ThreadPoolExecutor(max_workers=SENDERS) as pool:
            return list(pool.map(send, todo))
    finally:
        for connector in opened:
            connector.close()


def _connector(url, database):
    return TrytonConnector(url, database, env.ADMIN_USER, env.ADMIN_PASSWORD, accept_warnings=True)
