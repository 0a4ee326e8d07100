"""The queue's actions in the operations API: claim, assign, comment, resolve, snooze, ignore, reopen.

Through ``opsview.queues.services``, as the queue page: ids of several firms are acted on per firm, each
with the person's role there, and audited there, marked as done through the API. All or nothing: one
firm's refusal rolls back every firm's change.
"""

from collections import defaultdict
from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from opsview.api.authentication import memberships_of
from opsview.api.errors import error_response
from opsview.api.people import (
    BODY_ERRORS,
    MAX_IDS,
    PERSON_ERRORS,
    TAGS,
    PersonView,
    Refused,
    StrictSerializer,
    UnknownIds,
    through_api,
)
from opsview.common.bounds import INT64_MAX
from opsview.queues import services
from opsview.queues.forms import ACTIONS, SNOOZED_UNTIL_HOUR
from opsview.queues.models import USER_RESOLUTIONS, ExceptionItem
from opsview.queues.services import ActionRefused

MAX_TEXT = 10_000


class ActionRequest(StrictSerializer):
    action = serializers.ChoiceField(choices=ACTIONS)
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=INT64_MAX),
        min_length=1,
        max_length=MAX_IDS,
        help_text=f"The exceptions to act on, of any of your firms (at most {MAX_IDS}).",
    )
    assignee = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=150,
        help_text="assign: a teammate's username (an admin or operator of the exception's firm), 'me', "
        "or null to unassign.",
    )
    resolution = serializers.ChoiceField(
        choices=[value for value, _ in USER_RESOLUTIONS], required=False, help_text="resolve: how it was resolved."
    )
    note = serializers.CharField(
        required=False, allow_blank=True, max_length=MAX_TEXT, help_text="resolve, snooze, reopen: a note."
    )
    reason = serializers.CharField(
        required=False, allow_blank=True, max_length=MAX_TEXT, help_text="ignore: why (kept on record)."
    )
    body = serializers.CharField(required=False, allow_blank=True, max_length=MAX_TEXT, help_text="comment: the text.")
    until = serializers.DateField(required=False, help_text="snooze: the day it comes back (at 08:00, local time).")

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if attrs["action"] == "assign" and "assignee" not in attrs:
            raise serializers.ValidationError({"assignee": ["name the teammate (username), or null to unassign"]})
        return attrs


ACTION_RESULT = inline_serializer(
    "ActionResult",
    {
        "action": serializers.CharField(),
        "requested": serializers.IntegerField(help_text="Exceptions named."),
        "changed": serializers.IntegerField(help_text="Those the action changed; the others were not eligible."),
        "firms": inline_serializer(
            "ActionResultFirm",
            {
                "workspace": serializers.CharField(),
                "requested": serializers.IntegerField(),
                "changed": serializers.IntegerField(),
            },
            many=True,
        ),
    },
)


def by_firm(request, ids):
    """``[(workspace, [ids])]`` for ``ids``, each among what the person sees; 404 naming any other id."""
    wanted = list(dict.fromkeys(ids))
    found = dict(ExceptionItem.objects.visible_to(request.user).filter(pk__in=wanted).values_list("pk", "workspace_id"))
    missing = [i for i in wanted if i not in found]
    if missing:
        raise UnknownIds(missing)
    workspaces = {m.workspace_id: m.workspace for m in memberships_of(request)}
    firms = defaultdict(list)
    for pk in wanted:
        firms[found[pk]].append(pk)
    return [(workspaces[workspace_id], pks) for workspace_id, pks in sorted(firms.items())]


def _teammate(request, workspace, name):
    if name is None or name == "":
        return None
    if name == "me":
        return request.user
    teammate = services.teammates(workspace).filter(username=name).first()
    if teammate is None:
        raise ActionRefused(f"No teammate '{name[:150]}' in {workspace.name} (an admin or operator there).")
    return teammate


def perform(request, workspace, items, asked):
    """One firm's share of the action, through the service the queue page calls."""
    user, action, note = request.user, asked["action"], asked.get("note", "")
    if action == "claim":
        return services.claim(user, workspace, items)
    if action == "assign":
        return services.assign(user, workspace, items, _teammate(request, workspace, asked["assignee"]))
    if action == "resolve":
        return services.resolve(user, workspace, items, asked.get("resolution", ""), note)
    if action == "snooze":
        day = asked.get("until")
        until = timezone.make_aware(datetime.combine(day, SNOOZED_UNTIL_HOUR)) if day else None
        return services.snooze(user, workspace, items, until, note)
    if action == "ignore":
        return services.ignore(user, workspace, items, asked.get("reason") or note)
    if action == "reopen":
        return services.reopen(user, workspace, items, note)
    return services.comment(user, workspace, items, asked.get("body", ""))


class ExceptionActionView(PersonView):
    @extend_schema(
        operation_id="exceptions_act",
        summary="Claim, assign, comment, resolve, snooze, ignore or reopen exceptions",
        description="The queue's actions, as on the queue page and through the same services: each firm's "
        "exceptions are checked against your role there and audited (marked as done through the API). All or "
        "nothing: if any firm refuses, nothing is changed anywhere. Exceptions not in a state the action "
        "applies to (claiming a resolved one) are left as they are and not counted in `changed`.",
        request=ActionRequest,
        responses={
            200: ACTION_RESULT,
            400: error_response("A missing or malformed field, or a refusal in the service's words."),
            404: error_response("Ids that are unknown or not yours; `errors` lists them. Nothing was changed."),
            **PERSON_ERRORS,
            **BODY_ERRORS,
        },
        tags=TAGS,
    )
    def post(self, request):
        asked = ActionRequest(data=request.data)
        asked.is_valid(raise_exception=True)
        asked = asked.validated_data
        firms = by_firm(request, asked["ids"])
        results = []
        with transaction.atomic(), through_api(request):
            for workspace, pks in firms:
                where = f"{workspace.name}: " if len(firms) > 1 else ""
                try:
                    changed = perform(request, workspace, ExceptionItem.objects.filter(pk__in=pks), asked)
                except PermissionDenied as denied:
                    raise PermissionDenied(f"{workspace.name}: {denied}") from None  # whose role refused
                except ActionRefused as refusal:
                    raise Refused(f"{where}{refusal} Nothing was changed.") from None
                results.append({"workspace": workspace.slug, "requested": len(pks), "changed": changed})
        body = {
            "action": asked["action"],
            "requested": sum(r["requested"] for r in results),
            "changed": sum(r["changed"] for r in results),
            "firms": results,
        }
        return Response(body)
