"""The JSON shape of each KPI, for the KPI API and its OpenAPI schema; each catalog entry names its own.

Money is always a list of ``{currency, amount}``: amounts in different
currencies are never added up. Decimals are strings, rates fractions of 1.
"""

from rest_framework import serializers as s


class Money(s.Serializer):
    currency = s.CharField()
    amount = s.DecimalField(max_digits=18, decimal_places=2)


class Tally(s.Serializer):
    entries = s.IntegerField()
    hours = s.DecimalField(max_digits=14, decimal_places=2)
    value = Money(many=True)


class AgeBucket(Tally):
    bucket = s.CharField(help_text="0-7, 8-14, 15-30, 31-60 or over-60.")
    label = s.CharField()


class AgingBucket(AgeBucket):
    by_state = s.DictField(child=Tally(), help_text="draft, submitted, approved_since (only for past as-of days).")


class UnapprovedTimeAging(s.Serializer):
    as_of = s.DateField()
    buckets = AgingBucket(many=True)
    total = Tally()


class InvoiceReadyBacklog(s.Serializer):
    as_of = s.DateField()
    buckets = AgeBucket(many=True)
    total = Tally()


class TrendPoint(s.Serializer):
    day = s.DateField()
    hours = s.DecimalField(max_digits=14, decimal_places=2)
    value = Money(many=True)


class UnbilledWipTrend(s.Serializer):
    computed_at = s.DateTimeField(allow_null=True, help_text="When the newest daily roll-up was taken.")
    points = TrendPoint(many=True)


class WorstUnbilled(s.Serializer):
    currency = s.CharField()
    rank = s.IntegerField()
    id = s.IntegerField()
    name = s.CharField()
    entries = s.IntegerField()
    hours = s.DecimalField(max_digits=14, decimal_places=2)
    value = s.DecimalField(max_digits=18, decimal_places=2)


class LagBucket(s.Serializer):
    bucket = s.CharField()
    label = s.CharField()
    entries = s.IntegerField()
    hours = s.DecimalField(max_digits=14, decimal_places=2)


class BillingLag(s.Serializer):
    entries = s.IntegerField()
    hours = s.DecimalField(max_digits=14, decimal_places=2)
    median_days = s.FloatField(allow_null=True)
    p90_days = s.FloatField(allow_null=True)
    buckets = LagBucket(many=True)


class TimeToPost(s.Serializer):
    entries = s.IntegerField()
    median_days = s.FloatField(allow_null=True)
    p90_days = s.FloatField(allow_null=True)
    computed_at = s.DateTimeField(allow_null=True, help_text="When the newest daily roll-up of postings was taken.")


class SyncCounts(s.Serializer):
    succeeded = s.IntegerField()
    failed = s.IntegerField()
    rate = s.FloatField(allow_null=True, help_text="succeeded ÷ (succeeded + failed); null when both are 0.")


class SyncDay(SyncCounts):
    day = s.DateField()


class SyncSystem(SyncCounts):
    system_id = s.IntegerField()
    system = s.CharField()
    days = SyncDay(many=True)


class SyncRow(SyncCounts):
    system_id = s.IntegerField()
    system = s.CharField()
    flow = s.CharField()
    day = s.DateField()


class SyncSuccessRate(SyncCounts):
    systems = SyncSystem(many=True)
    rows = SyncRow(many=True)


class ExceptionDay(s.Serializer):
    day = s.DateField()
    new = s.IntegerField()
    resolved = s.IntegerField()
    open = s.IntegerField()


class ExceptionVolume(s.Serializer):
    new = s.IntegerField()
    resolved = s.IntegerField()
    open_at_end = s.IntegerField()
    days = ExceptionDay(many=True)


class ExceptionResolutionTime(s.Serializer):
    resolved = s.IntegerField()
    median_hours = s.FloatField(allow_null=True)
    p90_hours = s.FloatField(allow_null=True)


class KindCount(s.Serializer):
    kind = s.CharField()
    items = s.IntegerField()


class ItemsPastSla(s.Serializer):
    items = s.IntegerField()
    by_kind = KindCount(many=True)


class StakeMoney(Money):
    records = s.IntegerField(help_text="Records with at least one open exception, in this currency.")
    exceptions = s.IntegerField()


class MoneyAtStake(s.Serializer):
    by_currency = StakeMoney(many=True)
    records = s.IntegerField(help_text="Each record once, however many open exceptions it has.")
    exceptions = s.IntegerField()


class Dso(s.Serializer):
    currency = s.CharField()
    receivables = s.DecimalField(max_digits=18, decimal_places=2)
    billed = s.DecimalField(max_digits=18, decimal_places=2)
    days_in_period = s.IntegerField()
    dso_days = s.FloatField(allow_null=True)


class Utilization(s.Serializer):
    billable_hours = s.DecimalField(max_digits=14, decimal_places=2)
    recorded_hours = s.DecimalField(max_digits=14, decimal_places=2)
    capacity_hours = s.DecimalField(max_digits=14, decimal_places=2)
    people = s.IntegerField()
    weekdays = s.IntegerField()
    rate = s.FloatField(allow_null=True)


class StraightThroughCounts(s.Serializer):
    records = s.IntegerField(help_text="The period's time entries and invoices that reached the ERP.")
    straight = s.IntegerField(help_text="Of those, the ones with no exception (and so no replay or edit).")
    share = s.FloatField(allow_null=True, help_text="straight ÷ records; null when there were none.")


class StraightThroughKind(StraightThroughCounts):
    kind = s.CharField(help_text="time_entry or invoice.")
    label = s.CharField()


class StraightThroughSystem(StraightThroughCounts):
    system_id = s.IntegerField()
    system = s.CharField()
    kinds = StraightThroughKind(many=True)


class StraightThroughDay(StraightThroughCounts):
    day = s.DateField()


class StraightThrough(StraightThroughCounts):
    systems = StraightThroughSystem(many=True)
    days = StraightThroughDay(many=True)


def _hours(help_text):
    return s.DecimalField(max_digits=14, decimal_places=2, help_text=help_text)


class ReconciledShare(s.Serializer):
    approved_hours = _hours("Hours of the time entries approved and worked in the period.")
    billable_hours = _hours("Of those, billable hours.")
    erp_hours = _hours("Approved hours of the entries the ERP holds.")
    invoiced_hours = _hours("Billable approved hours of the entries billing holds on an invoice.")
    reconciled_hours = _hours("Approved hours in the ERP and, when billable, on an invoice.")
    entries = s.IntegerField(help_text="Approved time entries of the period.")
    reconciled_entries = s.IntegerField(help_text="Of those, the ones reconciled.")
    share = s.FloatField(allow_null=True, help_text="reconciled_hours ÷ approved_hours; null when there were none.")
    erp_share = s.FloatField(allow_null=True, help_text="erp_hours ÷ approved_hours.")
    invoiced_share = s.FloatField(allow_null=True, help_text="invoiced_hours ÷ billable_hours.")
