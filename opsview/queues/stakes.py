"""Money at stake kept per record, for the portfolio.

``queues.money`` counts each record that open exceptions hold up once, at its largest amount. A partner's
portfolio of 50 firms grouped a year's million open exceptions by record on every visit (a second), so the
records' figures are also kept, one ``RecordAtStake`` row per record, computed by the same rule
(``money.per_record``). ``refresh_stakes`` recomputes the rows of the records a write touched, at the end
of the writer's transaction.

Every writer that opens, closes or revalues exceptions calls it once it has written them: detection
(``sync_failures``, ``state_rules``), people's actions (``services``), the end of a snooze (``tasks``),
replays (``replay.tasks``), reconciliation (``reconcile.services``) and the undelivered notifications
(``notify.undelivered``). Deleting a system deletes its exceptions: its firm's rows are computed again
(``rebuild_stakes``). After every test the suite checks that the kept rows agree with the live rule
(``stakes_out_of_date``).

A firm's totals are kept too, as the changes each write made to them (``StakeChange``): at a year's scale,
adding up a million kept rows for the portfolio took 200 to 270 ms; its firms' changes take a few rows each.
The schedule folds them into one row per firm and currency (``fold_stake_changes``).
"""

import hashlib
from collections import defaultdict
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, F, Q, Sum

from opsview.common.sqlarrays import AnyText
from opsview.queues.models import ExceptionItem, RecordAtStake, StakeChange, Status
from opsview.queues.money import per_record, stakes_of

AT_ONCE = 1000  # records (or exceptions) named in one statement where each is a parameter
COLUMNS = ("source_system_id", "record_type", "external_id", "money", "cur", "n")
KEPT = ("source_system_id", "record_type", "external_id", "amount", "currency", "exceptions")  # as COLUMNS


def _open_items(workspace_id):
    return ExceptionItem.objects.filter(workspace_id=workspace_id, status=Status.OPEN)


def refresh_stakes(workspace_id, records):
    """Compute again the kept stake of ``records`` of ``workspace_id`` (``ExceptionItem.record_ref`` triples)
    from their open exceptions now: a record none holds up any more has no row."""
    records = set(records)
    by_kind = defaultdict(set)
    for system_id, record_type, external_id in records:
        by_kind[(system_id, record_type)].add(external_id)
    if not by_kind:
        return
    # PostgreSQL gets each list as one parameter; SQLite a parameter per record, so a long list goes in parts.
    at_once = len(records) if connection.vendor == "postgresql" else AT_ONCE
    with transaction.atomic(savepoint=False):
        _lock(workspace_id, by_kind)
        change = _Change()
        for (system_id, record_type), external_ids in sorted(by_kind.items()):
            ids = sorted(external_ids)
            for start in range(0, len(ids), at_once):
                named = (
                    Q(source_system_id=system_id, record_type=record_type),
                    AnyText(F("external_id"), ids[start : start + at_once]),
                )
                kept = RecordAtStake.objects.filter(*named, workspace_id=workspace_id)
                change.less(kept)
                kept.delete()
                _keep(workspace_id, _open_items(workspace_id).filter(*named))
                change.add(kept)
        change.append(workspace_id)


def refresh_stakes_of(workspace_id, item_ids):
    """``refresh_stakes`` for the records of the exceptions ``item_ids``."""
    records = set()
    ids = sorted(item_ids)
    for start in range(0, len(ids), AT_ONCE):
        chunk = ExceptionItem.objects.filter(pk__in=ids[start : start + AT_ONCE])
        records.update(chunk.values_list("source_system_id", "record_type", "external_id"))
    refresh_stakes(workspace_id, records)


def rebuild_stakes(workspace_id):
    """Compute every kept stake of ``workspace_id`` again: after a load or a deletion that bypassed the writers.

    It waits for the firm's refreshes under way and they wait for it (``_lock``): a refresh that read a
    record's row before this replaced it would count its change against rows it never saw.
    """
    with transaction.atomic():
        _lock_firm_alone(workspace_id)
        rebuild_records_at_stake(workspace_id)
        StakeChange.objects.filter(workspace_id=workspace_id).delete()
        change = _Change()
        change.add(RecordAtStake.objects.filter(workspace_id=workspace_id))
        change.append(workspace_id)


def rebuild_records_at_stake(workspace_id):
    """``rebuild_stakes``' rows per record alone, the firm's totals left as they are (migration 0012 ran before
    there were any)."""
    with transaction.atomic():
        RecordAtStake.objects.filter(workspace_id=workspace_id).delete()
        _keep(workspace_id, _open_items(workspace_id))


class _Change:
    """What one write changes in a firm's totals, per currency: the kept rows it replaces counted out, the ones it
    keeps in their place counted in."""

    def __init__(self):
        self.by_currency = defaultdict(lambda: [0, Decimal(0), 0])

    def _count(self, kept, sign):
        for (_, currency), (records, amount, n) in _totals(kept, Count("*")).items():
            change = self.by_currency[currency]
            change[0] += sign * records
            change[1] += sign * amount
            change[2] += sign * n

    def less(self, kept):
        self._count(kept, -1)

    def add(self, kept):
        self._count(kept, 1)

    def append(self, workspace_id):
        changes = [
            StakeChange(workspace_id=workspace_id, currency=currency, records=records, amount=amount, exceptions=n)
            for currency, (records, amount, n) in sorted(self.by_currency.items())
            if records or amount or n
        ]
        StakeChange.objects.bulk_create(changes)


def fold_stake_changes():
    """Fold each firm's ``StakeChange`` rows into one per currency, its totals unchanged; a currency whose
    changes add up to nothing keeps no row. Returns how many rows were folded away.

    One DELETE returns exactly the rows it took, whatever other writers append meanwhile: a change committed
    after it began stays as it is, to be folded next time.
    """
    table = connection.ops.quote_name(StakeChange._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} RETURNING workspace_id, currency, records, amount, exceptions")
        taken = cursor.fetchall()
        totals = defaultdict(lambda: [0, Decimal(0), 0])
        for workspace_id, currency, records, amount, n in taken:
            total = totals[(workspace_id, currency)]
            total[0] += records
            total[1] += Decimal(str(amount))  # SQLite returns what it stored: an int or a float
            total[2] += n
        folded = [
            StakeChange(workspace_id=workspace_id, currency=currency, records=records, amount=amount, exceptions=n)
            for (workspace_id, currency), (records, amount, n) in sorted(totals.items())
            if records or amount or n
        ]
        StakeChange.objects.bulk_create(folded)
    return len(taken) - len(folded)


def _keep(workspace_id, open_items):
    """Insert the kept rows of ``open_items``' records, computed by the database in the same statement."""
    records = per_record(open_items).values_list(*COLUMNS)
    sql, params = records.query.sql_with_params()
    table = connection.ops.quote_name(RecordAtStake._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (workspace_id, {', '.join(KEPT)}) "
            f"SELECT %s, {', '.join(f'r.{name}' for name in COLUMNS)} FROM ({sql}) AS r",
            [workspace_id, *params],
        )


# A record is held through one of its firm's slots, not a lock of its own: a drain of 20,000 failed records asked
# PostgreSQL for 20,000 locks, more than its lock table holds for every session together (max_locks_per_transaction
# times max_connections), and failed with "out of shared memory", as could any other session meanwhile. Records that
# share a slot wait for each other, as if they were one.
RECORD_SLOTS = 256


def _lock(workspace_id, by_kind):
    """Hold the firm's stakes shared and the records' slots exclusively until the transaction ends, in one order for
    every writer (PostgreSQL; SQLite writes one transaction at a time). Another transaction may be changing other
    exceptions of the same record: the second to refresh it waits for the first to commit, then reads what both
    wrote. ``rebuild_stakes`` holds the firm exclusively."""
    if connection.vendor != "postgresql":
        return
    slots = {
        _lock_key(workspace_id, system_id, record_type, external_id) % RECORD_SLOTS
        for (system_id, record_type), external_ids in by_kind.items()
        for external_id in external_ids
    }
    # One statement, the firm first: a lock per round trip cost each write a query more.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(CASE WHEN n = 1 THEN pg_advisory_xact_lock_shared(k) ELSE pg_advisory_xact_lock(k) END) "
            "FROM (SELECT k, n FROM unnest(%s::bigint[]) WITH ORDINALITY AS keys(k, n) ORDER BY n) AS ordered",
            [[_firm_key(workspace_id), *sorted(_lock_key("stakes slot", workspace_id, slot) for slot in slots)]],
        )


def _lock_firm_alone(workspace_id):
    """Hold the firm's stakes exclusively until the transaction ends: every writer of its records waits (PostgreSQL)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_firm_key(workspace_id)])


def _firm_key(workspace_id):
    return _lock_key("stakes of firm", workspace_id)


def _lock_key(*parts):
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def kept_money_at_stake_by_workspace(workspace_ids):
    """``money.money_at_stake_by_workspace`` of the open exceptions of ``workspace_ids``, read from the firms'
    kept totals (``StakeChange``): ``{workspace_id: stake}``; a workspace with no open exception is absent."""
    rows = (
        StakeChange.objects.filter(workspace_id__in=list(workspace_ids))
        .values("workspace_id", "currency")
        .annotate(records=Sum("records"), money=Sum("amount"), n=Sum("exceptions"))
        .filter(records__gt=0)
        .order_by("workspace_id", "-money")
        .values_list("workspace_id", "currency", "records", "money", "n")
    )
    return stakes_of(rows)


def stakes_out_of_date(workspace_ids=None):
    """The records whose kept stake differs from what their open exceptions say now, as
    ``(workspace_id, record, kept, live)``: none, as long as every writer refreshes what it changed."""
    kept, live = {}, {}
    stored = RecordAtStake.objects.all()
    items = ExceptionItem.objects.filter(status=Status.OPEN)
    if workspace_ids is not None:
        stored, items = stored.filter(workspace_id__in=workspace_ids), items.filter(workspace_id__in=workspace_ids)
    for ws, system_id, record_type, external_id, money, cur, n in stored.values_list(
        "workspace_id", "source_system_id", "record_type", "external_id", "amount", "currency", "exceptions"
    ):
        kept[(ws, system_id, record_type, external_id)] = (money, cur, n)
    for ws, system_id, record_type, external_id, money, cur, n in per_record(items, "workspace_id").values_list(
        "workspace_id", *COLUMNS
    ):
        live[(ws, system_id, record_type, external_id)] = (money, cur, n)
    return [
        (key[0], key[1:], kept.get(key), live.get(key))
        for key in sorted(kept.keys() | live.keys(), key=str)
        if kept.get(key) != live.get(key)
    ]


def totals_out_of_date(workspace_ids=None):
    """The firms and currencies whose kept totals (``StakeChange``) differ from their kept rows per record, as
    ``(workspace_id, currency, kept, counted)``, each a ``(records, amount, exceptions)``: none, as long as
    every write of the rows appends its change."""
    changes, stored = StakeChange.objects.all(), RecordAtStake.objects.all()
    if workspace_ids is not None:
        changes, stored = changes.filter(workspace_id__in=workspace_ids), stored.filter(workspace_id__in=workspace_ids)
    kept = {key: total for key, total in _totals(changes, Sum("records")).items() if any(total)}
    counted = _totals(stored, Count("*"))
    return [
        (key[0], key[1], kept.get(key), counted.get(key))
        for key in sorted(kept.keys() | counted.keys())
        if kept.get(key) != counted.get(key)
    ]


def _totals(rows, records):
    """``{(workspace_id, currency): (records, amount, exceptions)}`` of ``rows``, ``records`` counting them."""
    totals = (
        rows.values("workspace_id", "currency")
        .annotate(records=records, amount=Sum("amount"), n=Sum("exceptions"))
        .values_list("workspace_id", "currency", "records", "amount", "n")
        .order_by()
    )
    return {(ws, cur): (n_records, amount, n) for ws, cur, n_records, amount, n in totals}
