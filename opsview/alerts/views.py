"""Alert pages: the rules (admins), My alerts (each member's choices), and the alerts that fired."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from opsview.alerts import services
from opsview.alerts.digests import DIGEST_HOUR
from opsview.alerts.forms import PreferencesForm, RuleForm
from opsview.alerts.models import Alert, How, Preference, Rule
from opsview.workspaces.http import require_admin, require_workspace
from opsview.workspaces.permissions import ADMINISTER, can, role_of

PAGE_SIZE = 50


def _problems(form):
    return "; ".join(
        f"{form.fields[name].label if name in form.fields else 'Rule'}: {' '.join(errors)}"
        for name, errors in form.errors.items()
    )


@login_required
def rules(request):
    workspace = require_admin(request)
    listing = (
        Rule.objects.visible_to(request.user, workspace)
        .select_related("system")
        .prefetch_related("channels")
        .annotate(fired=Count("alerts", filter=Q(alerts__baseline=False)))
    )
    return render(request, "alerts/rules.html", {"rules": listing})


@login_required
def rule_form(request, pk=None):
    workspace = require_admin(request)
    rule = (
        get_object_or_404(Rule.objects.visible_to(request.user, workspace), pk=pk) if pk else Rule(workspace=workspace)
    )
    form = RuleForm(request.POST or None, instance=rule, workspace=workspace)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            saved = services.save_rule(request.user, workspace, form.save(commit=False), form.cleaned_data["channels"])
            messages.success(request, f"Rule '{saved.name}' saved; it is checked every 10 minutes.")
            return redirect("alert-rules")
        messages.error(request, f"Rule not saved. {_problems(form)}")
        status = 400
    return render(request, "alerts/rule_form.html", {"form": form, "rule": rule}, status=status)


@login_required
@require_POST
def rule_active(request, pk):
    workspace = require_admin(request)
    rule = get_object_or_404(Rule.objects.visible_to(request.user, workspace), pk=pk)
    active = request.POST.get("active") == "1"
    services.set_rule_active(request.user, rule, active)
    messages.success(request, f"Rule '{rule.name}' {'is active again' if active else 'deactivated'}.")
    return redirect("alert-rules")


@login_required
def my_alerts(request):
    workspace = require_workspace(request)
    role = role_of(request.user, workspace)
    mine = services.rules_for(request.user, workspace)
    chosen = dict(
        Preference.objects.visible_to(request.user, workspace).filter(user=request.user).values_list("rule_id", "how")
    )
    current = {rule.pk: chosen.get(rule.pk) or rule.default_how(role) for rule in mine}
    form = PreferencesForm(request.POST or None, rules=mine, current=current)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            changed = services.save_preferences(request.user, workspace, form.chosen())
            messages.success(request, f"Your alerts saved ({changed} changed).")
            return redirect("my-alerts")
        messages.error(request, f"Not saved. {_problems(form)}")
        status = 400
    context = {"form": form, "digest_hour": DIGEST_HOUR, "how": How, "is_manager": role == "manager"}
    return render(request, "alerts/my_alerts.html", context, status=status)


@login_required
def fired(request):
    """Every alert of the workspace for admins; the ones a member received for everyone else."""
    workspace = require_workspace(request)
    everyone = can(request.user, workspace, ADMINISTER)
    alerts = Alert.objects.visible_to(request.user, workspace).select_related("rule")
    if not everyone:
        alerts = alerts.filter(receipts__user=request.user)
    if request.GET.get("baseline") != "1":
        alerts = alerts.filter(baseline=False)
    alerts = alerts.annotate(
        at_once=Count("receipts", filter=Q(receipts__how=How.AT_ONCE)),
        in_digest=Count("receipts", filter=Q(receipts__how=How.DIGEST, receipts__digest__isnull=False)),
        waiting=Count("receipts", filter=Q(receipts__how=How.DIGEST, receipts__digest__isnull=True)),
    ).order_by("-fired_at", "-id")
    page = Paginator(alerts, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "everyone": everyone, "with_baseline": request.GET.get("baseline") == "1"}
    return render(request, "alerts/fired.html", context)
