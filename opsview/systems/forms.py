"""The admin's forms for connected systems and their API tokens."""

from django import forms

from opsview.systems import schedules
from opsview.systems.models import System


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


class TokenForm(forms.Form):
    system = forms.ModelChoiceField(queryset=System.objects.none(), help_text="The system the job reports for.")
    name = forms.CharField(max_length=120, help_text="What uses the token, e.g. 'nightly Harvest sync'.")

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["system"].queryset = System.objects.for_workspace(workspace).connected()
