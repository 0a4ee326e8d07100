"""The queue's forms: an action on exceptions; a kind's threshold, SLA and fix guide; the masked fields."""

from datetime import datetime, time

from django import forms
from django.utils import timezone

from opsview.common.bounds import OutOfBounds, bounded_date, id_or_none
from opsview.queues.services import teammates_in

MAX_FIELD_NAME = 100
# Forms refuse NUL themselves (Django's CharField); text read straight from request.POST must too:
# PostgreSQL cannot store it, and the failed write would be a server error.
NUL = "\x00"
NUL_REFUSED = "the text contains the NUL character (\\x00), which cannot be stored; remove it."

ACTIONS = ("claim", "assign", "resolve", "snooze", "ignore", "reopen", "comment")
CHOOSE_AN_ACTION = "Choose an action."
# A snoozed exception comes back at the start of the working day it was snoozed until.
SNOOZED_UNTIL_HOUR = time(8, 0)


class QueueActionForm(forms.Form):
    """What an action form on the queue asks for: the action, and the teammate or the day it needs.

    A row's own button (``quick`` = "claim:42") wins over the toolbar's chosen ``action``. Notes, comments
    and resolutions pass on as typed: the services check them and say what is wrong in their own words.
    Which exceptions the form targets is the ``selection`` helper's part, not this form's.
    """

    action = forms.ChoiceField(
        choices=[(name, name) for name in ACTIONS],
        error_messages={"required": CHOOSE_AN_ACTION, "invalid_choice": CHOOSE_AN_ACTION},
    )

    def __init__(self, data, *, workspace, firms=None):
        """``firms``: the queue across the person's firms, whose teammates of any firm may be chosen (the
        assignment checks that they work in each firm of the selection)."""
        quick = data.get("quick", "").partition(":")[0]
        if quick:
            data = data.copy()
            data["action"] = quick
        super().__init__(data)
        self.workspace = workspace
        self.firms = list(firms) if firms else [workspace]

    def clean(self):
        asked = super().clean()
        # Only the chosen action's own values are checked: the toolbar posts every field, filled or not.
        if asked.get("action") == "assign":
            asked["assignee"] = self._teammate(self.data.get("assignee", ""))
        if asked.get("action") == "snooze":
            asked["until"] = self._until(self.data.get("until"))
        return {**asked, **{name: self.data.get(name, "") for name in ("note", "body", "resolution")}}

    def _teammate(self, value):
        if not value:
            return None  # "assign" to nobody unassigns
        assignee = teammates_in(self.firms).filter(pk=id_or_none(value) or 0).first()
        if assignee is None:
            where = "in this workspace" if len(self.firms) == 1 else "in your firms"
            raise forms.ValidationError(f"Assignee: no teammate {value[:40]} {where}.")
        return assignee

    def _until(self, value):
        if not value:
            raise forms.ValidationError("Snooze until: choose a date.")
        try:
            day = bounded_date(value)
        except OutOfBounds:
            raise forms.ValidationError(f"Snooze until: '{value[:40]}' is not a date (YYYY-MM-DD).") from None
        return timezone.make_aware(datetime.combine(day, SNOOZED_UNTIL_HOUR))

    @property
    def refusal(self):
        """What is wrong, as the page says it: the action, or the one value that action needs."""
        return next(message for messages in self.errors.values() for message in messages)


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
