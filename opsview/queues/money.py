"""Money at stake in exceptions: the one definition, read by the queue, its groups and the KPIs.

Money counts once per record (its source system, type and id), however many
exceptions hold that record up.
"""

from django.db import connections
from django.db.models import Count, Max

from opsview.common.numbers import format_money

# The money of a record counted once: per record, its largest amount among the exceptions given
# (they all carry the same record's value; a payload-only estimate may differ).
PER_CURRENCY = """
SELECT records.cur, COUNT(*), SUM(records.money), SUM(records.n)
FROM ({per_record}) AS records GROUP BY records.cur ORDER BY SUM(records.money) DESC
"""
PER_WORKSPACE_AND_CURRENCY = """
SELECT records.workspace_id, records.cur, COUNT(*), SUM(records.money), SUM(records.n)
FROM ({per_record}) AS records GROUP BY records.workspace_id, records.cur
ORDER BY records.workspace_id, SUM(records.money) DESC
"""


def money_at_stake(items):
    """Money at stake in ``items`` (exception items): the amount of each record they hold up, counted once
    however many of the items concern that record, per currency; with the number of records and exceptions.

    A time entry that is approved-not-invoiced and also failed to post to the ERP is one record with two
    exceptions: its money counts once. This is the one definition; the queue's totals and the dashboards
    read it.
    """
    return money_at_stake_by_workspace(items, per_workspace=False).get(None, _stake([]))


def _stake(by_currency):
    return {
        "by_currency": by_currency,
        "records": sum(row["records"] for row in by_currency),
        "exceptions": sum(row["exceptions"] for row in by_currency),
    }


def money_at_stake_by_workspace(items, per_workspace=True):
    """``money_at_stake`` of ``items`` for each workspace they belong to, in one query: ``{workspace_id: stake}``.

    A record belongs to one workspace, so each workspace's figure is exactly what ``money_at_stake`` says of
    its items alone; currencies stay apart within each.
    """
    keys = ("workspace_id",) if per_workspace else ()
    records = per_record(items, *keys).values(*keys, "money", "cur", "n")
    sql, params = records.query.sql_with_params()
    query = PER_WORKSPACE_AND_CURRENCY if per_workspace else PER_CURRENCY
    with connections[items.db].cursor() as cursor:
        cursor.execute(query.format(per_record=sql), params)
        rows = cursor.fetchall()
    return stakes_of(rows if per_workspace else [(None, *row) for row in rows])


def per_record(items, *keys):
    """``items`` grouped by the record they hold up (``ExceptionItem.record_ref``), after ``keys``: each record's
    money (``money``, the largest amount among them), currency (``cur``) and number of exceptions (``n``).
    The rule of counting a record once; ``queues.stakes`` keeps its rows for the open exceptions."""
    return (
        items.order_by()
        .values(*keys, "source_system_id", "record_type", "external_id")
        .annotate(money=Max("amount"), cur=Max("currency"), n=Count("*"))
    )


def stakes_of(rows):
    """``{workspace_id: stake}`` from rows ``(workspace_id, currency, records, money, exceptions)``, each
    workspace's currencies in the order given."""
    found = {}
    for workspace_id, cur, records, money, n in rows:
        found.setdefault(workspace_id, []).append(
            {"currency": cur or "", "amount": money or 0, "records": records, "exceptions": n}
        )
    return {workspace_id: _stake(by_currency) for workspace_id, by_currency in found.items()}


def stake_money(stake):
    """The money of a ``money_at_stake`` result in words, e.g. "EUR 43,210.00 + GBP 1,200.00"."""
    return " + ".join(format_money(row["amount"], row["currency"]) for row in stake["by_currency"]) or "0.00"


def stake_sentence(stake):
    """A ``money_at_stake`` result as the queue and the dashboards say it:
    "EUR 43,210.00 at stake in 120 records, 150 exceptions"."""
    records, exceptions = stake["records"], stake["exceptions"]
    if not records:  # a group worked off, or a search that matched nothing: not a zero without a currency
        return "Nothing at stake"
    return (
        f"{stake_money(stake)} at stake in {records:,} record{'s' if records != 1 else ''}, "
        f"{exceptions:,} exception{'s' if exceptions != 1 else ''}"
    )


def stake_per_currency(stake):
    """A ``money_at_stake`` result as one sentence per currency, largest first: the queue across firms shows
    these, since firms that bill in different currencies have no total to add up."""
    sentences = []
    for row in stake["by_currency"]:
        records, exceptions = row["records"], row["exceptions"]
        counted = f"{records:,} record{'s' if records != 1 else ''}, "
        counted += f"{exceptions:,} exception{'s' if exceptions != 1 else ''}"
        # Records whose exceptions carry no amount (a job's failed event without one) have no currency either:
        # say so, rather than a bare "0.00" beside the figures that have one.
        if not row["currency"] and not row["amount"]:
            text = f"No amount known for {counted}"
        else:
            text = f"{format_money(row['amount'], row['currency'])} at stake in {counted}"
        sentences.append({"currency": row["currency"], "text": text})
    return sentences
