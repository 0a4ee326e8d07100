"""Why two systems disagree: each cause's stable code, its label and what it means, shown on the page."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Cause:
    code: str
    label: str
    explanation: str
    track: str  # time, invoice or run
    target: str  # the kind of system where the gap is: erp, billing, or the run's target

    @property
    def in_title(self):
        """The label after a record's name in an exception's title: "Invoice INV-1 · posted twice"."""
        words = self.label.removeprefix("Invoice ")
        return words[0].lower() + words[1:]


CAUSES = (
    Cause(
        "missing_in_erp",
        "Approved time missing in the ERP",
        "The time entry is approved but the ERP holds no live posting for it.",
        "time",
        "erp",
    ),
    Cause(
        "hours_differ_erp",
        "Hours differ in the ERP",
        "The ERP holds the time entry with other hours than time tracking approved.",
        "time",
        "erp",
    ),
    Cause(
        "missing_in_billing",
        "Invoiced time missing in billing",
        "Time tracking says the entry was invoiced, but billing holds no line for it on an invoice.",
        "time",
        "billing",
    ),
    Cause(
        "hours_differ_billing",
        "Invoiced hours differ",
        "Billing invoiced the time entry with other hours than time tracking approved.",
        "time",
        "billing",
    ),
    Cause(
        "only_in_erp",
        "Time only in the ERP",
        "The ERP holds a posting for a time entry that time tracking does not hold as approved.",
        "time",
        "erp",
    ),
    Cause(
        "invoice_missing_in_erp",
        "Invoice missing in the ERP",
        "Billing issued the invoice but the ERP holds no live posting with its number.",
        "invoice",
        "erp",
    ),
    Cause(
        "invoice_posted_twice",
        "Invoice posted twice",
        "The ERP holds two or more live postings with the invoice's number.",
        "invoice",
        "erp",
    ),
    Cause(
        "invoice_amount_differs",
        "Invoice amount differs",
        "The ERP posted the invoice with another amount than billing issued it with.",
        "invoice",
        "erp",
    ),
    Cause(
        "invoice_only_in_erp",
        "Invoice only in the ERP",
        "The ERP holds an invoice posting whose number billing does not hold as an issued invoice.",
        "invoice",
        "erp",
    ),
    Cause(
        "run_lost_records",
        "Sync run lost records",
        "A finished sync run said how many records it read, and reported an outcome for fewer of them.",
        "run",
        "run",
    ),
)
BY_CODE = {cause.code: cause for cause in CAUSES}
