"""Per-workspace thresholds, SLAs, fix guides and masked fields, with the defaults a new workspace gets."""

from dataclasses import dataclass
from datetime import timedelta

from opsview.queues.models import Kind, KindSetting, QueueSettings


@dataclass(frozen=True)
class Policy:
    kind: str
    threshold_days: int
    sla_hours: int
    fix_guide: str

    @property
    def label(self):
        return Kind(self.kind).label

    @property
    def sla(self):
        return timedelta(hours=self.sla_hours)


DEFAULTS = {
    Kind.POSTING_FAILURE: Policy(
        Kind.POSTING_FAILURE,
        0,
        24,
        "The ERP refused to post the record: a closed or locked period, a blocked account, or a fiscal-year rule. "
        "Reopen the period or correct the account in the ERP, then replay the record. In Tryton: an invoice dated "
        'in a closed period ("you must reopen the period"): Financial > Configuration > Fiscal Years > Periods, '
        "open the period of the invoice's date and click Re-Open (later closed periods of its year first); an "
        'invoice line whose product has no revenue account ("A value is required for field Account", product '
        "without a revenue account): Product > Categories, the product's accounting category, Accounting tab, "
        'set Account Revenue; time refused for its work ("not valid according to its domain", timesheet period '
        "closed): Project > Works, the project's Timesheet start date.",
    ),
    Kind.SYNC_ERROR: Policy(
        Kind.SYNC_ERROR,
        0,
        8,
        "The target could not be reached or refused the connection (timeouts, 5xx answers, expired credentials, "
        "rate limits). Check the system's status and its credentials; most of these succeed on replay.",
    ),
    Kind.MISSING_MAPPING: Policy(
        Kind.MISSING_MAPPING,
        0,
        24,
        "The target does not know a project, client, person or tax code the source sent. Map the unknown value "
        "to the target's own here, or create it in the target, then replay.",
    ),
    Kind.VALIDATION_REJECTED: Policy(
        Kind.VALIDATION_REJECTED,
        0,
        48,
        "The target rejected the record's content (a missing or invalid field). Correct the record in its "
        "source system; the next sync sends it again.",
    ),
    Kind.UNAPPROVED_TIME: Policy(
        Kind.UNAPPROVED_TIME,
        7,
        48,
        "Time is still draft or submitted after the approval cut-off. Ask the person to submit it and the "
        "project manager to approve it, so it can be billed this period.",
    ),
    Kind.UNBILLED_TIME: Policy(
        Kind.UNBILLED_TIME,
        14,
        72,
        "Approved billable time has not been put on an invoice within the limit. Invoice it in the billing "
        "system, or mark it non-billable at the source if it should not be billed.",
    ),
    Kind.UNPOSTED_INVOICE: Policy(
        Kind.UNPOSTED_INVOICE,
        2,
        24,
        "The invoice was issued but the ERP has no posting for it. Check the billing-to-ERP job's failures for "
        "this invoice; fix them and replay.",
    ),
    Kind.RECONCILIATION: Policy(
        Kind.RECONCILIATION,
        0,
        72,
        "Two systems disagree about the same work and no job reported an error: time approved but missing in "
        "the ERP, hours that differ, an invoice missing on one side, posted twice or with another amount. "
        "Compare both sides shown here, correct the system that is wrong (post the missing record, reverse the "
        "duplicate), and the next reconciliation resolves it by itself.",
    ),
    Kind.ALERT_UNDELIVERED: Policy(
        Kind.ALERT_UNDELIVERED,
        0,
        8,
        "An alert could not be delivered after its last retry: the mail server or the chat webhook refused it "
        "or did not answer. Check the channel's address under Settings → Alerts (a webhook URL that was "
        "revoked, a mailbox that no longer exists); the delivery log shows each attempt's answer.",
    ),
}

DEFAULT_MASKED_FIELDS = (
    "bank_account",
    "iban",
    "account_number",
    "routing_number",
    "tax_id",
    "vat_number",
    "ssn",
    "national_id",
    "personal_email",
    "private_email",
    "home_address",
    "date_of_birth",
    "salary",
)


def policies_for(workspace):
    """Every kind's policy for the workspace: its own settings where an admin set them, else the defaults."""
    own = {s.kind: s for s in KindSetting.objects.for_workspace(workspace)}
    result = {}
    for kind, default in DEFAULTS.items():
        setting = own.get(kind)
        if setting is None:
            result[kind] = default
        else:
            guide = setting.fix_guide or default.fix_guide
            result[kind] = Policy(kind, setting.threshold_days, setting.sla_hours, guide)
    return result


def masked_fields_for(workspace):
    settings = QueueSettings.objects.for_workspace(workspace).first()
    if settings is None:
        return list(DEFAULT_MASKED_FIELDS)
    return [line.strip() for line in settings.masked_fields.splitlines() if line.strip()]
