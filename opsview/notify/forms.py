"""The admin's form for a chat channel: its URL and signing secret are write-only."""

from urllib.parse import urlsplit

from django import forms
from django.conf import settings

from opsview.notify import signing
from opsview.notify.models import Channel, ChannelKind

SECRET_INPUT = {"autocomplete": "off", "spellcheck": "false"}


class ChannelForm(forms.ModelForm):
    url = forms.CharField(
        label="Webhook URL",
        required=False,
        max_length=1000,
        widget=forms.PasswordInput(attrs=SECRET_INPUT),
        help_text="Slack: the incoming webhook's URL. Teams: the URL of a workflow started by 'When a Teams webhook "
        "request is received'. Signed webhook: your endpoint. Stored encrypted and shown masked; leave empty to "
        "keep the stored one.",
    )
    secret = forms.CharField(
        label="Signing secret",
        required=False,
        max_length=200,
        widget=forms.PasswordInput(attrs=SECRET_INPUT),
        help_text="Signed webhooks only: a 'whsec_…' secret to type your own; leave empty to keep the stored one "
        "(a new channel gets one generated and shown once).",
    )
    new_secret = forms.BooleanField(
        label="Generate a new signing secret", required=False, help_text="Shown once; the old one stops working."
    )

    class Meta:
        model = Channel
        fields = ["name", "kind", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["kind"].disabled = True
            self.fields["kind"].help_text = "A channel keeps its kind; add a new channel for another kind."

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        taken = Channel.objects.for_workspace(self.instance.workspace).filter(name=name).exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError(f"Another channel of this workspace is called '{name}'.")
        return name

    def clean_url(self):
        url = self.cleaned_data["url"].strip()
        if not url:
            if not self.instance.pk:
                raise forms.ValidationError("A new channel needs its webhook URL.")
            return ""
        parts = urlsplit(url)
        schemes = ("https", "http") if settings.NOTIFY_ALLOW_HTTP else ("https",)
        if parts.scheme not in schemes or not parts.hostname:
            raise forms.ValidationError(f"The webhook URL must start with {' or '.join(s + '://' for s in schemes)}.")
        return url

    def clean_secret(self):
        secret = self.cleaned_data["secret"].strip()
        if secret:
            problem = signing.secret_problem(secret)
            if problem:
                raise forms.ValidationError(problem)
        return secret

    def clean(self):
        data = super().clean()
        if data.get("kind") != ChannelKind.WEBHOOK and (data.get("secret") or data.get("new_secret")):
            self.add_error("secret", "Only signed webhooks have a signing secret.")
        return data
