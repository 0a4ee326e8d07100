"""The form a person creates a personal API token with."""

from django import forms

from opsview.accounts.tokens import MAX_NAME

LIFETIMES = [("", "Until I revoke it"), ("30", "30 days"), ("90", "90 days"), ("365", "One year")]


class PersonalTokenForm(forms.Form):
    name = forms.CharField(max_length=MAX_NAME, help_text="What uses the token, e.g. 'Power BI' or 'month-end script'.")
    lifetime = forms.ChoiceField(choices=LIFETIMES, required=False, label="Expires", initial="")

    def clean_lifetime(self):
        value = self.cleaned_data.get("lifetime")
        return int(value) if value else None
