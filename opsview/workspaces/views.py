"""Workspace pages: switching workspace, and the admin's systems and tokens."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from opsview.pulls import schedules
from opsview.workspaces import services
from opsview.workspaces.connectivity import check_connection, connection_state
from opsview.workspaces.http import require_admin, require_workspace, safe_next
from opsview.workspaces.middleware import SESSION_KEY
from opsview.workspaces.models import ApiToken, System


@login_required
@require_POST
def switch_workspace(request):
    wanted = request.POST.get("workspace")
    for membership in request.memberships:
        if str(membership.workspace_id) == wanted:
            request.session[SESSION_KEY] = membership.workspace_id
            messages.info(request, f"Switched to {membership.workspace.name}.")
            break
    else:
        raise Http404("No such workspace among yours.")
    return redirect(safe_next(request, "/"))


class SystemForm(forms.ModelForm):
    credentials = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off", "spellcheck": "false"}),
        help_text="One 'name=value' per line, e.g. api_token=…; 'name=' removes one. Leave empty to keep what is "
        "stored. Stored encrypted and never shown again.",
    )

    class Meta:
        model = System
        fields = ["name", "slug", "kind", "vendor", "is_active", "connector_settings"]

    def clean_credentials(self):
        changes = {}
        for number, line in enumerate(self.cleaned_data["credentials"].splitlines(), start=1):
            if not line.strip():
                continue
            name, equals, value = line.partition("=")
            name = name.strip()
            if not equals or not name:
                raise forms.ValidationError(f"Line {number} is not 'name=value'.")
            changes[name] = value.strip()
        return changes

    def clean_connector_settings(self):
        value = self.cleaned_data["connector_settings"]
        problem = schedules.poll_minutes_problem(value)
        if problem:
            raise forms.ValidationError(problem)
        return value

    def clean_slug(self):
        slug = self.cleaned_data["slug"]
        taken = System.objects.for_workspace(self.instance.workspace).filter(slug=slug).exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError(f"Another system of this workspace already uses '{slug}'.")
        return slug


@login_required
def systems(request, pk=None):
    """The workspace's connected systems, with a form to add one or change the one at ``pk``."""
    workspace = require_admin(request)
    listing = System.objects.visible_to(request.user, workspace)
    instance = get_object_or_404(listing, pk=pk) if pk is not None else System(workspace=workspace)
    form = SystemForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        system = services.save_system(request.user, form.save(commit=False), form.cleaned_data["credentials"])
        messages.success(request, f"System '{system.name}' saved.")
        return redirect("systems")
    rows = [(system, schedules.describe(system), connection_state(system)) for system in listing]
    return render(request, "workspaces/systems.html", {"form": form, "rows": rows, "editing": pk})


@login_required
@require_POST
def test_connection(request, pk):
    """Test one system's connection now, as ``check_connections`` does; admins only, audited."""
    workspace = require_admin(request)
    system = get_object_or_404(System.objects.visible_to(request.user, workspace), pk=pk)
    ok, detail = check_connection(system, request.user)
    if ok:
        messages.success(request, f"{system.name} is connected: {detail}.")
    elif detail.startswith("not connected: "):
        messages.error(request, f"{system.name} is {detail}: set it up with Edit, then test again.")
    else:
        messages.error(request, f"{system.name} could not be reached: {detail}")
    return redirect("systems")


class TokenForm(forms.Form):
    system = forms.ModelChoiceField(queryset=System.objects.none(), help_text="The system the job reports for.")
    name = forms.CharField(max_length=120, help_text="What uses the token, e.g. 'nightly Harvest sync'.")

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["system"].queryset = System.objects.for_workspace(workspace)


@login_required
def tokens(request):
    workspace = require_admin(request)
    form = TokenForm(request.POST or None, workspace=workspace)
    new_token = None
    if request.method == "POST" and form.is_valid():
        token, new_token = services.issue_token(request.user, form.cleaned_data["system"], form.cleaned_data["name"])
        messages.success(request, f"Token '{token.name}' created. Copy it now: it will not be shown again.")
        form = TokenForm(workspace=workspace)
    listing = ApiToken.objects.visible_to(request.user, workspace).select_related("system", "created_by")
    return render(request, "workspaces/tokens.html", {"form": form, "tokens": listing, "new_token": new_token})


@login_required
@require_POST
def revoke_token(request, pk):
    workspace = require_workspace(request)
    token = get_object_or_404(ApiToken.objects.visible_to(request.user, workspace), pk=pk)
    services.revoke_token(request.user, token)
    messages.success(request, f"Token '{token.name}' revoked; jobs using it now get 401.")
    return redirect("tokens")
