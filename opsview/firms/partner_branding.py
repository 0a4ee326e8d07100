"""A partner's own brand (white-label): its name, the host its clients sign in at, its colour and logo.

Shown on the sign-in page of its host, beside the firms it runs in the header, and as the sender of their
alerts. Only its partner admins change it; every change is on the audit trail of each of its firms, where
its clients see it.
"""

import re

from django import forms
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from opsview.audit.trail import record
from opsview.workspaces.branding import clean_host
from opsview.workspaces.logos import LOGO_HELP, check_logo
from opsview.workspaces.models import Partner, PartnerLogo, PartnerRole
from opsview.workspaces.partners import partner_role_of
from opsview.workspaces.theme import DEFAULT_ACCENT

HOST = re.compile(r"(?=.{1,200}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*")


class PartnerBrandingForm(forms.ModelForm):
    logo = forms.FileField(required=False, help_text=LOGO_HELP)
    remove_logo = forms.BooleanField(required=False, label="Remove the logo")

    class Meta:
        model = Partner
        fields = ["name", "host", "accent_color"]
        widgets = {"accent_color": forms.TextInput(attrs={"type": "color"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance.accent_color:
            self.initial["accent_color"] = DEFAULT_ACCENT

    def clean_host(self):
        host = clean_host(self.cleaned_data.get("host"))
        if host and not HOST.fullmatch(host):
            raise forms.ValidationError("A host name like ops.partner.example: letters, digits, '-' and dots only.")
        if host and Partner.objects.filter(host__iexact=host).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(f"Another partner signs its clients in at {host}.")
        return host

    def clean_logo(self):
        return check_logo(self.cleaned_data.get("logo"))


def can_brand(user, partner):
    return partner_role_of(user, partner) == PartnerRole.ADMIN


def _state(partner):
    return {
        "name": partner.name,
        "host": partner.host,
        "accent_color": partner.accent_color,
        "logo": bool(partner.logo_updated_at),
    }


@transaction.atomic
def update_partner_branding(actor, partner, name, host, accent_color, logo=None, logo_type="", remove_logo=False):
    """Set the partner's name, host, colour and (new, kept or removed) logo; audited in each of its firms."""
    if not can_brand(actor, partner):
        raise PermissionDenied("Only the partner's admins change its branding.")
    before = _state(partner)
    partner.name, partner.host, partner.accent_color = name, host, accent_color
    if logo is not None:
        PartnerLogo.objects.update_or_create(partner=partner, defaults={"content": logo, "content_type": logo_type})
        partner.logo_updated_at = timezone.now()
    elif remove_logo:
        PartnerLogo.objects.filter(partner=partner).delete()
        partner.logo_updated_at = None
    partner.save(update_fields=["name", "host", "accent_color", "logo_updated_at"])
    after = _state(partner)
    if after != before or logo is not None:
        for firm in partner.firms.all():
            record(firm, actor, "partner.branding", partner, before=before, after=after)
    return partner
