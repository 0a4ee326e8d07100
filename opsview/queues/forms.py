"""The queue settings' forms: a kind's threshold, SLA and fix guide, and the workspace's masked fields."""

from django import forms

MAX_FIELD_NAME = 100
# Forms refuse NUL themselves (Django's CharField); text read straight from request.POST must too:
# PostgreSQL cannot store it, and the failed write would be a server error.
NUL = "\x00"
NUL_REFUSED = "the text contains the NUL character (\\x00), which cannot be stored; remove it."


class KindSettingForm(forms.Form):
    threshold_days = forms.IntegerField(min_value=0, max_value=3650, label="Threshold in days")
    sla_hours = forms.IntegerField(min_value=1, max_value=24 * 365, label="SLA in hours")
    fix_guide = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), label="Fix guide")


class MaskedFieldsForm(forms.Form):
    """Field names, one word per line; ``cleaned_data["masked_fields"]`` is their list."""

    # A plain Field, not a CharField: its own NUL message would not say where the NUL is refused.
    masked_fields = forms.Field(required=False)

    def clean_masked_fields(self):
        names = (self.cleaned_data.get("masked_fields") or "").split()
        too_long = [n for n in names if len(n) > MAX_FIELD_NAME]
        if any(NUL in n for n in names):
            raise forms.ValidationError(NUL_REFUSED)
        if too_long:
            raise forms.ValidationError(
                f"'{too_long[0][:40]}…' is longer than {MAX_FIELD_NAME} characters; a field name is one word per line."
            )
        return names
