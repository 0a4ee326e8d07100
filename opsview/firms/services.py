"""Creating a client firm from the browser: a partner admin's new workspace, ready for its staff on the first page.

A new firm starts from a template: opsview's standard settings (what any new workspace gets: the queues'
defaults and the default alert rules), or another firm of the same partner, whose queue settings, masked
fields and alert rules are copied over. Everything happens in one transaction: a firm is made whole or not at all.
"""

import zoneinfo
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from opsview.alerts.models import Rule
from opsview.audit.trail import record
from opsview.queues.models import KindSetting, QueueSettings
from opsview.workspaces.models import Workspace
from opsview.workspaces.partners import partners_administered_by, sync_partner_access

STANDARD = "standard"
# The alert rule fields a copy carries: what to watch and whom to tell. Channels and systems belong to the
# source firm, so a rule tied to one of its systems is not copied, and chat channels are chosen anew.
RULE_FIELDS = (
    "kind",
    "name",
    "is_active",
    "items",
    "money",
    "success_percent",
    "window_hours",
    "silent_hours",
    "days_before",
    "exception_kind",
    "throttle_hours",
    "roles",
)


@dataclass(frozen=True)
class FirmDetails:
    """What the partner admin types for a new firm."""

    name: str
    slug: str
    time_zone: str = "UTC"
    currency: str = "EUR"
    billing_cutoff_day: int = 0
    accent_color: str = ""


def template_source(partner, template):
    """The firm whose settings ``template`` names ("copy:<id>", one of ``partner``'s firms), or None for standard."""
    if template in (None, "", STANDARD):
        return None
    kind, _, pk = str(template).partition(":")
    source = partner.firms.filter(pk=pk).first() if kind == "copy" and pk.isdigit() else None
    if source is None:
        raise ValidationError("Choose opsview's standard settings or another firm of this partner to copy from.")
    return source


def validate_time_zone(name):
    """Raise ValidationError unless ``name`` is a time zone the server knows, like Europe/Berlin."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
        raise ValidationError(
            f"'{name}' is not a time zone; use a name like Europe/Berlin or America/New_York."
        ) from error


@transaction.atomic
def create_firm(actor, partner, details, template=STANDARD):
    """Create a firm (workspace) of ``partner`` from ``details`` and ``template``; its staff get their roles.

    Only a partner admin of ``partner`` may. Returns the new Workspace. Raises ValidationError for a taken
    address, an unknown time zone or a template that is not one of the partner's firms.
    """
    if not partners_administered_by(actor).filter(pk=partner.pk).exists():
        raise PermissionDenied("Only a partner admin creates firms for the partner.")
    validate_time_zone(details.time_zone)
    source = template_source(partner, template)
    if Workspace.objects.filter(slug=details.slug).exists():
        raise ValidationError({"slug": f"A firm with the address '{details.slug}' exists already; choose another."})
    firm = Workspace(
        name=details.name,
        slug=details.slug,
        time_zone=details.time_zone,
        currency=details.currency.upper(),
        billing_cutoff_day=details.billing_cutoff_day,
        accent_color=details.accent_color,
        partner=partner,
    )
    firm.full_clean()
    firm.save()  # the alerts app gives it the default rules (post_save)
    copied = copy_settings(source, firm) if source is not None else {}
    sync_partner_access(partner)
    record(
        firm,
        actor,
        "firm.created",
        firm,
        after={
            "name": firm.name,
            "slug": firm.slug,
            "partner": partner.name,
            "time_zone": firm.time_zone,
            "currency": firm.currency,
            "billing_cutoff_day": firm.billing_cutoff_day,
            "accent_color": firm.accent_color,
            "template": f"copy of {source.name}" if source else "opsview's standard settings",
            **copied,
        },
    )
    return firm


def copy_settings(source, firm):
    """Copy ``source``'s queue settings, masked fields and alert rules to the new ``firm``; what was copied."""
    kinds = [
        KindSetting(
            workspace=firm, kind=s.kind, threshold_days=s.threshold_days, sla_hours=s.sla_hours, fix_guide=s.fix_guide
        )
        for s in KindSetting.objects.for_workspace(source)
    ]
    KindSetting.objects.bulk_create(kinds)
    masked = QueueSettings.objects.for_workspace(source).first()
    if masked is not None:
        QueueSettings.objects.create(workspace=firm, masked_fields=masked.masked_fields)
    rules = [
        Rule(workspace=firm, **{name: getattr(rule, name) for name in RULE_FIELDS})
        for rule in Rule.objects.for_workspace(source).filter(system__isnull=True)
    ]
    # The source's rules replace the defaults the new firm was given: a copy is the source's choice, whole.
    Rule.objects.for_workspace(firm).delete()
    Rule.objects.bulk_create(rules)
    return {
        "queue_kinds_copied": len(kinds),
        "masked_fields_copied": masked is not None,
        "alert_rules_copied": len(rules),
    }
