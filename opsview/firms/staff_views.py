"""The partner staff page: a partner admin adds, re-roles and removes the people who work across its firms."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from opsview.firms import staff as services
from opsview.firms.forms import StaffForm, StaffRoleForm
from opsview.workspaces.models import PartnerMembership, PartnerRole
from opsview.workspaces.partners import partners_administered_by


def _partner(request):
    """The partner the page is about: the one asked for (by short name) among the user's, else their first."""
    partners = list(partners_administered_by(request.user))
    if not partners:
        raise PermissionDenied("Only partner admins manage partner staff.")
    wanted = request.GET.get("partner") or request.POST.get("partner")
    for partner in partners:
        if partner.slug == wanted:
            return partner, partners
    return partners[0], partners


def _back(partner, partners):
    url = reverse("partner-staff")
    return redirect(f"{url}?partner={partner.slug}" if len(partners) > 1 else url)


@login_required
def partner_staff(request):
    partner, partners = _partner(request)
    form = StaffForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            added = services.add_staff(request.user, partner, form.cleaned_data["email"], form.cleaned_data["role"])
        except services.StaffChangeRefused as refusal:
            form.add_error("email", str(refusal))
        else:
            messages.success(request, f"{added.user.get_username()} is now {added.get_role_display()} of {partner}.")
            return _back(partner, partners)
    context = {
        "partner": partner,
        "partners": partners,
        "staff": services.staff_of(partner),
        "firms": partner.firms.order_by("name"),
        "form": form,
        "roles": PartnerRole.choices,
    }
    return render(request, "firms/partner_staff.html", context, status=400 if form.errors else 200)


def _staff(request, pk):
    partners = partners_administered_by(request.user)
    staff = PartnerMembership.objects.filter(pk=pk, partner__in=partners).select_related("user", "partner").first()
    if staff is None:
        raise Http404("No such member of your partners' staff.")
    return staff, list(partners)


@login_required
@require_POST
def staff_role(request, pk):
    staff, partners = _staff(request, pk)
    form = StaffRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose partner admin or partner operator.")
        return _back(staff.partner, partners)
    try:
        services.change_staff_role(request.user, staff, form.cleaned_data["role"])
    except services.StaffChangeRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, f"{staff.user.get_username()} is now {staff.get_role_display()}.")
    return _back(staff.partner, partners)


@login_required
@require_POST
def staff_remove(request, pk):
    staff, partners = _staff(request, pk)
    try:
        services.remove_staff(request.user, staff)
    except services.StaffChangeRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, f"{staff.user.get_username()} is no longer staff of {staff.partner}.")
    return _back(staff.partner, partners)
