"""The partner's branding page (its admins), and its logo and colours, which the sign-in page shows to anyone."""

import hashlib

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseNotModified
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET

from opsview.common.bounds import id_or_none
from opsview.firms.partner_branding import PartnerBrandingForm, update_partner_branding
from opsview.workspaces.logos import logo_response
from opsview.workspaces.models import Partner, PartnerLogo
from opsview.workspaces.partners import partners_administered_by
from opsview.workspaces.theme import safe_colour


@login_required
def partner_branding(request):
    """Name, sign-in host, colour and logo of a partner the user administers (``?partner=<id>`` among several)."""
    partners = list(partners_administered_by(request.user).order_by("name"))
    if not partners:
        raise PermissionDenied("Only partner admins change a partner's branding.")
    wanted = id_or_none(request.GET.get("partner") or "")
    partner = next((p for p in partners if p.pk == wanted), partners[0])
    form = PartnerBrandingForm(request.POST or None, request.FILES or None, instance=partner)
    if request.method == "POST" and form.is_valid():
        logo = form.cleaned_data["logo"]
        update_partner_branding(
            request.user,
            partner,
            form.cleaned_data["name"],
            form.cleaned_data["host"],
            form.cleaned_data["accent_color"],
            logo=logo.read() if logo else None,
            logo_type=logo.content_type if logo else "",
            remove_logo=form.cleaned_data["remove_logo"],
        )
        messages.success(request, f"{partner.name}'s branding saved: its sign-in page and firms show it now.")
        return redirect(f"{request.path}?partner={partner.pk}")
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "partner": partner, "partners": partners}
    return render(request, "firms/partner_branding.html", context, status=status)


@require_GET
def partner_logo(request, pk):
    """A partner's logo: public, as the sign-in page shows it before anyone signs in."""
    image = get_object_or_404(PartnerLogo, partner_id=pk)
    return logo_response(image, "public")


@require_GET
def partner_theme(request, pk):
    """The partner's accent colour as a stylesheet, for its sign-in page (no inline styles under the CSP)."""
    partner = get_object_or_404(Partner, pk=pk)
    body = (f":root {{ --accent: {safe_colour(partner.accent_color)}; }}\n" if partner.accent_color else "\n").encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    if etag in request.headers.get("If-None-Match", ""):
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(body, content_type="text/css; charset=utf-8")
    response["ETag"] = etag
    response["Cache-Control"] = "public, no-cache"
    return response
