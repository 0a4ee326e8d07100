"""What the rule form and the My alerts form ask, and what each kind of rule needs."""

from django import forms

from opsview.alerts.models import GROUP_KINDS, How, Rule, RuleKind
from opsview.notify.models import Channel
from opsview.systems.models import System
from opsview.workspaces.roles import Role

# The thresholds each kind needs; the others are cleared when a rule is saved.
NEEDS = {
    RuleKind.NEW_GROUP: (),
    RuleKind.GROUP_GREW: ("items", "money"),  # at least one of the two
    RuleKind.PAST_SLA: (),
    RuleKind.SYNC_SUCCESS_LOW: ("success_percent", "window_hours"),
    RuleKind.SYSTEM_SILENT: ("silent_hours",),
    RuleKind.UNAPPROVED_BEFORE_CUTOFF: ("days_before",),
    RuleKind.CONNECTION_FAILING: (),
}
THRESHOLDS = ("items", "money", "success_percent", "window_hours", "silent_hours", "days_before")


class RuleForm(forms.ModelForm):
    """A rule of ``workspace``: its kind, the thresholds that kind needs, filters, throttle, who receives it."""

    roles = forms.MultipleChoiceField(
        choices=Role.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Who receives it by e-mail",
        help_text=Rule._meta.get_field("roles").help_text,
    )

    class Meta:
        model = Rule
        fields = [
            "name",
            "kind",
            "is_active",
            *THRESHOLDS,
            "system",
            "exception_kind",
            "throttle_hours",
            "roles",
            "channels",
        ]
        labels = {
            "items": "Items",
            "money": "Money at stake",
            "success_percent": "Success rate under (%)",
            "window_hours": "Over the last (hours)",
            "silent_hours": "Silent for (hours)",
            "days_before": "Days before the cut-off",
            "throttle_hours": "At most one message per subject every (hours)",
            "exception_kind": "Exception kind",
            "channels": "Chat channels",
        }
        widgets = {"channels": forms.CheckboxSelectMultiple}

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.workspace = workspace
        self.instance.workspace = workspace
        self.fields["system"].queryset = System.objects.for_workspace(workspace)
        self.fields["system"].empty_label = "every system"
        self.fields["channels"].queryset = Channel.objects.for_workspace(workspace).filter(is_active=True)
        self.fields["exception_kind"].choices = [("", "every kind"), *self.fields["exception_kind"].choices[1:]]
        self.fields["money"].help_text += f" Currency: {workspace.currency}."

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError("Give the rule a name: it is the heading of its alerts in the digest.")
        return name

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind is None:
            return data
        label = RuleKind(kind).label
        if kind == RuleKind.GROUP_GREW and data.get("items") is None and data.get("money") is None:
            self.add_error("items", f"'{label}' needs a number of items, an amount of money, or both.")
        for name in NEEDS[kind]:
            if kind != RuleKind.GROUP_GREW and data.get(name) is None and name not in self.errors:
                self.add_error(name, f"Required for '{label}' rules.")
        for name in THRESHOLDS:
            if name not in NEEDS[kind]:
                data[name] = None  # a value another kind needs means nothing here
        if kind not in GROUP_KINDS:
            data["exception_kind"] = ""
        if not data.get("roles") and not data.get("channels"):
            self.add_error("roles", "Choose at least one role or chat channel: otherwise nobody hears of it.")
        return data


class PreferencesForm(forms.Form):
    """One choice per rule the member's role receives: at once, daily digest or off."""

    def __init__(self, *args, rules, current, **kwargs):
        super().__init__(*args, **kwargs)
        self.rules = {f"rule_{rule.pk}": rule for rule in rules}
        for name, rule in self.rules.items():
            self.fields[name] = forms.ChoiceField(
                choices=How.choices, label=rule.name, initial=current[rule.pk], help_text=rule.kind_label
            )

    def chosen(self):
        """``{rule: how}`` as submitted."""
        return {rule: self.cleaned_data[name] for name, rule in self.rules.items()}
