"""The forms of firms and people: a new firm, an invitation, a role, a new person's account."""

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils.text import slugify

from opsview.firms.services import STANDARD, validate_time_zone
from opsview.workspaces.models import PartnerRole, Workspace
from opsview.workspaces.roles import Role
from opsview.workspaces.theme import DEFAULT_ACCENT

COLOUR = RegexValidator(r"^#[0-9a-fA-F]{6}$", f"A colour like {DEFAULT_ACCENT}, or empty.")
CURRENCY = RegexValidator(r"^[A-Z]{3}$", "Three letters of an ISO 4217 currency code, like EUR, USD or GBP.")


class FirmForm(forms.Form):
    partner = forms.ModelChoiceField(queryset=None, empty_label=None, help_text="The partner that runs this firm.")
    name = forms.CharField(max_length=200, help_text="The client firm's name, as its people know it.")
    slug = forms.SlugField(
        max_length=80,
        required=False,
        label="Short name",
        help_text="Letters, digits and hyphens, unique across opsview; left empty, it is made from the name.",
    )
    time_zone = forms.CharField(
        max_length=64, initial="UTC", help_text="Where the firm's month ends fall, e.g. Europe/Berlin."
    )
    currency = forms.CharField(max_length=3, initial="EUR", help_text="Reporting currency, ISO 4217, e.g. EUR.")
    billing_cutoff_day = forms.IntegerField(
        min_value=0,
        max_value=28,
        initial=0,
        label="Billing cut-off day",
        help_text="Day of the month by which time must be approved, 1–28; 0 for the month's last day.",
    )
    accent_color = forms.CharField(
        max_length=7,
        required=False,
        label="Accent colour",
        help_text=f"The firm's header colour, #rrggbb (e.g. {DEFAULT_ACCENT}); empty for the partner's or opsview's.",
    )
    template = forms.ChoiceField(
        label="Settings to start from",
        help_text="Queue thresholds, SLAs, fix guides, masked fields and alert rules: opsview's standard ones, "
        "or a copy of another firm's.",
    )

    def __init__(self, *args, partners, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["partner"].queryset = partners
        partners = list(partners)
        firms = Workspace.objects.filter(partner__in=partners).select_related("partner").order_by("name")
        several = len(partners) > 1
        self.fields["template"].choices = [(STANDARD, "opsview's standard settings")] + [
            (f"copy:{firm.pk}", f"Copy from {firm.name}" + (f" ({firm.partner.name})" if several else ""))
            for firm in firms
        ]

    def clean_time_zone(self):
        value = self.cleaned_data["time_zone"].strip()
        validate_time_zone(value)
        return value

    def clean_currency(self):
        value = self.cleaned_data["currency"].strip().upper()
        CURRENCY(value)
        return value

    def clean_accent_color(self):
        value = self.cleaned_data["accent_color"].strip()
        if value:
            COLOUR(value)
        return value

    def clean(self):
        data = super().clean()
        if "name" in data and not data.get("slug"):
            data["slug"] = slugify(data["name"])[:80]
            if not data["slug"]:
                self.add_error("slug", "The name has no letters or digits to make a short name of: type one.")
        if data.get("slug") and Workspace.objects.filter(slug=data["slug"]).exists():
            self.add_error("slug", f"A firm with the short name '{data['slug']}' exists already; choose another.")
        partner, template = data.get("partner"), data.get("template")
        if partner and template and template != STANDARD:
            pk = template.partition(":")[2]
            if not partner.firms.filter(pk=pk).exists():
                self.add_error("template", f"Copy from a firm of {partner.name}.")
        return data


class InviteForm(forms.Form):
    # The invitation stores at most 254 characters (RFC 5321's limit): longer is a form error, not a 500.
    email = forms.EmailField(label="E-mail address", max_length=254)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.OPERATOR)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class StaffForm(forms.Form):
    email = forms.EmailField(label="E-mail address", max_length=254, help_text="Of an existing account.")
    role = forms.ChoiceField(choices=PartnerRole.choices, initial=PartnerRole.OPERATOR)


class StaffRoleForm(forms.Form):
    role = forms.ChoiceField(choices=PartnerRole.choices)


class NewPersonForm(forms.Form):
    """The account a newly invited person makes: their name, a username and a password (Django's rules)."""

    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    username = forms.CharField(max_length=150, help_text="What you sign in with.")
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="Password again", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def __init__(self, *args, email, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email
        self.fields["username"].initial = email.split("@")[0]

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        user_model = get_user_model()
        user_model.username_validator(username)
        if user_model.objects.filter(username__iexact=username).exists():
            raise ValidationError(f"The username '{username}' is taken; choose another.")
        return username

    def clean(self):
        data = super().clean()
        one, two = data.get("password1"), data.get("password2")
        if one and two and one != two:
            self.add_error("password2", "The two passwords differ.")
        elif one:
            user = get_user_model()(
                username=data.get("username", ""),
                email=self.email,
                first_name=data.get("first_name", ""),
                last_name=data.get("last_name", ""),
            )
            try:
                password_validation.validate_password(one, user)
            except ValidationError as error:
                self.add_error("password1", error)
        return data
