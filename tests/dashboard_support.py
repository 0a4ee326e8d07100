"""The books the dashboard tests share, with a browser or without."""

from opsview.kpis.rollups import rollup_day
from tests.kpi_books import Books, at, day

PERIOD = "start=2026-11-01&end=2026-11-20"


def dashboard_books():
    """Time in every approval state and age, an invoice, sync outcomes and rolled-up days: every chart has marks."""
    books = Books()
    books.entry("2026-11-18", 3, "draft")
    books.entry("2026-11-12", 4, "submitted")
    books.entry("2026-10-21", "1.5", "submitted", project=books.b1)
    books.invoice("INV-10", 300, "issued", issued="2026-11-10")
    books.entry("2026-11-02", 1, approved_at="2026-11-03 08:00", invoice="INV-10")
    books.entry("2026-11-03", 2, approved_at="2026-11-04 08:00", invoice="INV-10")
    books.entry("2026-11-06", 5, approved_at="2026-11-09 10:00")
    books.entry("2026-11-06", 2, approved_at="2026-11-09 10:00", project=books.b1)
    books.entry("2026-11-06", 1, approved_at="2026-11-10 10:00", project=books.g1, rate="200")
    books.events(3, "succeeded", "2026-11-01 09:00")
    books.events(1, "failed", "2026-11-01 09:00")
    books.events(4, "succeeded", "2026-11-02 09:00")
    for n in range(5, 20):
        rollup_day(books.workspace, day(f"2026-11-{n:02}"), now=at("2026-11-20 12:00"))
    return books
