"""The admin's forms for connected systems and their API tokens.

The system form asks for what the chosen vendor's connector declares (``Connector.SETTINGS``): one field
per setting, with its label and help. Non-secret values go to the system's connector settings, secrets to
its encrypted credentials. Secrets are write-only: the field is always empty, its placeholder shows the
stored value masked, an empty field keeps it and typing replaces it. A vendor that declares nothing keeps
the plain fallback: a JSON box for the settings and 'name=value' lines for the credentials.
"""

from urllib.parse import urlsplit

from django import forms

from connectors.registry import CONNECTORS
from connectors.settings import settings_of
from opsview.common.bounds import INT64_MAX
from opsview.systems import credentials, schedules
from opsview.systems.kinds import kinds_for
from opsview.systems.models import System, SystemKind

# Each declared setting's field is named after it with this prefix, so no connector keyword can clash with
# the system's own fields (name, slug, kind...).
SETTING_PREFIX = "setting_"
MAX_TEXT = 500
VENDOR_LABELS = {"tryton": "Tryton", "harvest": "Harvest", "xero": "Xero", "webhook": "Webhook (your own receiver)"}
# What a system of each vendor usually is, offered when one is added.
VENDOR_KINDS = {
    "tryton": SystemKind.ERP,
    "harvest": SystemKind.TIME_TRACKING,
    "xero": SystemKind.BILLING,
    "webhook": SystemKind.OTHER,
}
POLL_MINUTES_PROBLEM = f"A whole number of minutes from 1 to {schedules.MAX_POLL_MINUTES} (a week), e.g. 15."
NO_VENDOR_LABEL = "None: its integration jobs report through the API only"


def vendor_choices(current=""):
    """The vendors a system can have: every connector's, none, and an older free-text vendor it already has."""
    choices = [("", NO_VENDOR_LABEL)]
    choices += [(vendor, VENDOR_LABELS.get(vendor, vendor.title())) for vendor in sorted(CONNECTORS)]
    if current and current not in CONNECTORS:
        choices.append((current, f"{current} (no connector)"))
    return choices


def declared_settings(vendor):
    """What the vendor's connector declares it needs; empty for a vendor without a connector or declarations."""
    connector_class = CONNECTORS.get(vendor or "")
    return settings_of(connector_class) if connector_class else ()


def url_problem(value):
    """Why ``value`` is not a full http(s) address, or None."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "Enter a full address starting with http:// or https://, e.g. https://erp.example.com:8000."
    try:
        parts.port  # noqa: B018 - reading it checks it
    except ValueError:
        return "The port after the ':' must be a number from 0 to 65535."
    if any(c.isspace() for c in value):
        return "An address has no spaces."
    return None


def validate_url(value):
    """A form validator: ``value`` is a full http(s) address."""
    problem = url_problem(value)
    if problem:
        raise forms.ValidationError(problem)


def setting_field(setting, stored_hint=None):
    """The form field a person fills in for one declared setting."""
    options = {"label": setting.label, "help_text": setting.help, "required": setting.required}
    attrs = {"placeholder": setting.placeholder} if setting.placeholder else {}
    if setting.secret:
        attrs = {"autocomplete": "new-password", "spellcheck": "false"}
        if stored_hint:
            attrs["placeholder"] = f"stored ({stored_hint}): leave empty to keep it, type to replace it"
        # A stored secret need not be typed again: left empty, it is kept.
        return forms.CharField(
            **(options | {"required": setting.required and not stored_hint}),
            max_length=MAX_TEXT,
            strip=False,
            widget=forms.PasswordInput(render_value=False, attrs=attrs),
            error_messages={"required": f"Enter the {setting.label.lower()}: none is stored yet."},
        )
    if setting.kind == "boolean":
        return forms.BooleanField(**(options | {"required": False}))
    if setting.kind == "integer":
        return forms.IntegerField(**options, min_value=0, max_value=INT64_MAX, widget=forms.TextInput(attrs=attrs))
    if setting.kind == "choice":
        choices = list(setting.choices) if setting.required else [("", "—"), *setting.choices]
        return forms.ChoiceField(**options, choices=choices)
    if setting.kind == "url":
        attrs |= {"spellcheck": "false", "inputmode": "url"}
        return forms.CharField(**options, max_length=MAX_TEXT, validators=[validate_url], widget=forms.TextInput(attrs))
    return forms.CharField(**options, max_length=MAX_TEXT, widget=forms.TextInput(attrs=attrs))


class SystemForm(forms.ModelForm):
    """A connected system: what it is, its vendor, and what the vendor's connector needs to reach it.

    ``vendor`` is the one chosen (a GET parameter while choosing, the posted value when saving); the
    fields follow it. After ``is_valid()``, ``connector_settings()`` and ``credential_changes()`` say
    what to store; ``services.save_system`` stores them.
    """

    poll_minutes = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=schedules.MAX_POLL_MINUTES,
        error_messages=dict.fromkeys(("invalid", "min_value", "max_value"), POLL_MINUTES_PROBLEM),
        label="Pull every (minutes)",
        help_text="opsview reads the system itself on this schedule (e.g. 15). Leave it empty to pull only when "
        "you press Pull now.",
    )

    class Meta:
        model = System
        fields = ["vendor", "name", "slug", "kind", "is_active"]
        labels = {"is_active": "Active"}
        help_texts = {
            "name": "As people here call it, e.g. 'Tryton ERP'.",
            "is_active": "An inactive system is not pulled, and its tokens are refused.",
        }

    def __init__(self, data=None, *, instance, vendor=None, initial=None):
        if data is not None:
            vendor = data.get("vendor", "")
        elif vendor is None:
            vendor = instance.vendor
        self.chosen_vendor = vendor or ""
        self.vendor_changed = instance.pk is not None and self.chosen_vendor != (instance.vendor or "")
        initial = dict(initial or {})
        initial["vendor"] = self.chosen_vendor
        if instance.pk is None and self.chosen_vendor in VENDOR_KINDS:
            # A first system of a vendor is usually called after it.
            initial.setdefault("kind", VENDOR_KINDS[self.chosen_vendor])
            initial.setdefault("name", VENDOR_LABELS[self.chosen_vendor])
            initial.setdefault("slug", self.chosen_vendor)
        super().__init__(data, instance=instance, initial=initial)
        self.fields["vendor"] = forms.ChoiceField(
            choices=vendor_choices(instance.vendor),
            required=False,
            label="Vendor",
            help_text="The application this system is. Its connector's settings follow when you choose it.",
        )
        # Stored values belong to the stored vendor: another vendor starts afresh.
        self.stored_settings = {} if self.vendor_changed else dict(instance.connector_settings or {})
        self.stored_credentials = {} if self.vendor_changed else self._readable_credentials(instance)
        self.declared = declared_settings(self.chosen_vendor)
        for setting in self.declared:
            stored = self.stored_credentials.get(setting.name) if setting.secret else None
            field = setting_field(setting, credentials.mask(stored) if stored else None)
            self.fields[SETTING_PREFIX + setting.name] = field
            if not setting.secret:
                stored = self.stored_settings.get(setting.name)
                default = setting.default if setting.kind in ("boolean", "choice") else None
                self.initial[SETTING_PREFIX + setting.name] = stored if stored is not None else default
        if not self.declared:
            self._add_fallback_fields()
        if kinds_for(self.chosen_vendor):
            self.initial["poll_minutes"] = self.stored_settings.get(schedules.POLL_MINUTES)
        else:
            del self.fields["poll_minutes"]

    @staticmethod
    def _readable_credentials(instance):
        try:
            return instance.credentials
        except credentials.CredentialsUnreadable:
            return {}  # the page says so (masked_credentials) and asks for them again

    def _add_fallback_fields(self):
        self.fields["connector_settings"] = forms.JSONField(
            required=False,
            label="Connector settings",
            help_text='A JSON object of the connector\'s settings, e.g. {"tenant_id": "…"}. Secrets go below.',
            widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        )
        self.initial["connector_settings"] = {
            k: v for k, v in self.stored_settings.items() if k != schedules.POLL_MINUTES
        }
        self.fields["credentials"] = forms.CharField(
            required=False,
            label="Credentials",
            widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off", "spellcheck": "false"}),
            help_text="One 'name=value' per line, e.g. access_token=…; 'name=' removes one. Leave empty to keep "
            "what is stored. Stored encrypted and never shown again.",
        )

    @property
    def identity_fields(self):
        """The fields that say what the system is (not how to reach it)."""
        return [self[name] for name in ("name", "slug", "kind", "is_active")]

    @property
    def connection_rows(self):
        """``(field, stored)`` for each field that says how to reach the system; ``stored`` is a secret's masked
        hint (``"••••9aa1"``) when one is stored, else None."""
        if self.declared:
            hints = self.stored_secret_hints
            rows = [(self[SETTING_PREFIX + s.name], hints.get(s.name) if s.secret else None) for s in self.declared]
        else:
            stored = ", ".join(f"{name} {hint}" for name, hint in self.stored_secret_hints.items()) or None
            rows = [(self["connector_settings"], None), (self["credentials"], stored)]
        if "poll_minutes" in self.fields:
            rows.append((self["poll_minutes"], None))
        return rows

    @property
    def setting_fields(self):
        """The bound fields of the vendor's declared settings, in their declared order."""
        return [self[SETTING_PREFIX + setting.name] for setting in self.declared]

    @property
    def stored_secret_hints(self):
        """Each stored credential's masked hint, e.g. {"password": "••••"}: what the page may show of them."""
        return {name: credentials.mask(value) for name, value in self.stored_credentials.items()}

    def clean_vendor(self):
        return self.cleaned_data.get("vendor") or ""

    def clean_slug(self):
        slug = self.cleaned_data["slug"]
        taken = System.objects.for_workspace(self.instance.workspace).filter(slug=slug).exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError(f"Another system of this workspace already uses '{slug}'.")
        return slug

    def clean_connector_settings(self):
        value = self.cleaned_data["connector_settings"]
        if value in (None, ""):
            return {}
        if not isinstance(value, dict):
            raise forms.ValidationError('The connector settings must be a JSON object, e.g. {"tenant_id": "…"}.')
        if schedules.POLL_MINUTES in value and "poll_minutes" in self.fields:
            raise forms.ValidationError("Set the schedule with 'Pull every (minutes)', not here.")
        problem = schedules.poll_minutes_problem(value)
        if problem:
            raise forms.ValidationError(problem)
        return value

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

    def connector_settings(self):
        """The system's new connector settings: the declared non-secret values (or the JSON box) and the schedule.

        What the form does not show stays as stored, unless the vendor changed.
        """
        if self.declared:
            values = dict(self.stored_settings)
            for setting in self.declared:
                if setting.secret:
                    continue
                value = self.cleaned_data[SETTING_PREFIX + setting.name]
                if value in (None, "") and setting.kind != "boolean":
                    values.pop(setting.name, None)  # the connector's own default
                else:
                    values[setting.name] = value
        else:
            values = dict(self.cleaned_data.get("connector_settings") or {})
            if "poll_minutes" in self.fields:
                values.pop(schedules.POLL_MINUTES, None)
        if "poll_minutes" in self.fields:
            if self.cleaned_data.get("poll_minutes"):
                values[schedules.POLL_MINUTES] = self.cleaned_data["poll_minutes"]
            else:
                values.pop(schedules.POLL_MINUTES, None)
        return values

    def credential_changes(self):
        """Credential name -> new value ('' removes it): the secrets typed, and a changed vendor's old ones."""
        changes = {}
        if self.vendor_changed:
            changes = {name: "" for name in self._readable_credentials(self.instance)}
        if self.declared:
            for setting in self.declared:
                value = self.cleaned_data.get(SETTING_PREFIX + setting.name) if setting.secret else None
                if value:
                    changes[setting.name] = value
        else:
            changes.update(self.cleaned_data.get("credentials") or {})
        return changes


class TokenForm(forms.Form):
    system = forms.ModelChoiceField(queryset=System.objects.none(), help_text="The system the job reports for.")
    name = forms.CharField(max_length=120, help_text="What uses the token, e.g. 'nightly Harvest sync'.")

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["system"].queryset = System.objects.for_workspace(workspace).connected()


class SystemTokenForm(forms.Form):
    """A token for the system whose page this is: only what uses it. Prefixed: the page's system form has a name too."""

    prefix = "token"

    name = forms.CharField(
        max_length=120,
        label="What uses it",
        help_text="The integration job that will send with this token, e.g. 'nightly Harvest sync'.",
    )
