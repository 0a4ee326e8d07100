"""The operations API's replays, and one exception with everything that happened to it.

``POST /api/v1/replays/`` is the queue's replay, dry run then confirmation by count, through
``opsview.replay.services.request_replay`` as the pages call it. ``GET /api/v1/exceptions/{id}/`` is here,
not in the queues' API, because it carries the exception's replays and their attempts, which the queues
sit below. Payloads show with the firm's sensitive fields masked, as on the pages.
"""

import hashlib

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response

from opsview.api.errors import ApiProblem, error_response
from opsview.api.people import BODY_ERRORS, MAX_IDS, PERSON_ERRORS, TAGS, PersonView, StrictSerializer, through_api
from opsview.audit.models import AuditEntry
from opsview.common.bounds import INT64_MAX
from opsview.common.masking import mask
from opsview.queues.models import ExceptionItem
from opsview.queues.ops_actions import by_firm
from opsview.queues.ops_api import ExceptionSerializer
from opsview.queues.policies import masked_fields_for
from opsview.queues.services import ActionRefused
from opsview.replay import services
from opsview.replay.models import ReplayAttempt
from opsview.telemetry.models import SyncEvent

EVENT_LIMIT = 200  # as the exception's page
REPLAY_LIMIT = 20
ATTEMPT_LIMIT = 100
HISTORY_LIMIT = 500


class ReplayRefused(ApiProblem):
    """The replay cannot be queued as confirmed: the count, the records or a system changed (409)."""

    status_code = status.HTTP_409_CONFLICT


class EventSerializer(serializers.Serializer):
    event_id = serializers.CharField()
    run = serializers.IntegerField(source="run_id", allow_null=True)
    target_system = serializers.CharField(source="target_system.slug")
    outcome = serializers.CharField()
    error_code = serializers.CharField()
    error_message = serializers.CharField()
    payload = serializers.JSONField(source="masked_payload", help_text="Sensitive fields masked.")
    occurred_at = serializers.DateTimeField()


class AttemptSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField()
    outcome = serializers.CharField()
    error_code = serializers.CharField()
    error_message = serializers.CharField()
    request = serializers.JSONField(source="masked_request", help_text="What was sent; sensitive fields masked.")
    response = serializers.JSONField(source="masked_response", help_text="What the target answered, masked.")


class ReplaySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    batch = serializers.UUIDField()
    status = serializers.CharField()
    target_system = serializers.CharField(source="target_system.slug")
    idempotency_key = serializers.CharField()
    attempts = serializers.IntegerField()
    max_attempts = serializers.IntegerField()
    verified = serializers.BooleanField()
    last_error_code = serializers.CharField()
    last_error = serializers.CharField()
    requested_by = serializers.CharField(source="requested_by.username", allow_null=True)
    requested_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    attempt_log = AttemptSerializer(source="shown_attempts", many=True)


class CommentSerializer(serializers.Serializer):
    author = serializers.CharField(source="author.username", allow_null=True)
    body = serializers.CharField()
    created_at = serializers.DateTimeField()


class HistorySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    actor = serializers.CharField(source="actor_label", help_text="Who, and how if not in the browser.")
    action = serializers.CharField()
    before = serializers.JSONField()
    after = serializers.JSONField()
    note = serializers.CharField()


class ExceptionDetailSerializer(ExceptionSerializer):
    payload = serializers.JSONField(source="masked_payload", help_text="As last reported; sensitive fields masked.")
    events = EventSerializer(many=True, source="shown_events", help_text=f"The record's sync events (≤{EVENT_LIMIT}).")
    replays = ReplaySerializer(many=True, source="shown_replays", help_text="Newest first, with their attempts.")
    comments = CommentSerializer(many=True, source="shown_comments")
    history = HistorySerializer(many=True, source="shown_history", help_text="Its audit trail, oldest first.")


class ExceptionDetailView(PersonView):
    @extend_schema(
        operation_id="exceptions_retrieve",
        summary="One exception with its record's sync events, its replays and their attempts",
        responses={
            200: ExceptionDetailSerializer,
            404: error_response("No such exception among yours."),
            **PERSON_ERRORS,
        },
        tags=TAGS,
    )
    def get(self, request, pk):
        visible = ExceptionItem.objects.visible_to(request.user).select_related(
            "workspace", "system", "source_system", "project", "client", "assignee", "last_event"
        )
        item = get_object_or_404(visible, pk=pk)
        workspace = item.workspace
        masked = masked_fields_for(workspace)
        item.masked_payload = mask(item.last_event.payload, masked) if item.last_event_id else None
        events = list(
            SyncEvent.objects.visible_to(request.user, workspace)
            .filter(source_system=item.source_system, record_type=item.record_type, external_id=item.external_id)
            .select_related("target_system")
            .order_by("occurred_at", "id")[:EVENT_LIMIT]
        )
        for event in events:
            event.masked_payload = mask(event.payload, masked)
        replays = list(item.replays.select_related("target_system", "requested_by")[:REPLAY_LIMIT])
        attempts = {}
        for attempt in ReplayAttempt.objects.filter(replay__in=replays).order_by("started_at", "id")[:ATTEMPT_LIMIT]:
            attempt.masked_request = mask(attempt.request, masked)
            attempt.masked_response = mask(attempt.response, masked)
            attempts.setdefault(attempt.replay_id, []).append(attempt)
        for replay in replays:
            replay.shown_attempts = attempts.get(replay.pk, [])
        item.shown_events, item.shown_replays = events, replays
        item.shown_comments = list(item.comments.select_related("author"))
        item.shown_history = list(
            AuditEntry.objects.visible_to(request.user, workspace)
            .filter(target_type=ExceptionItem._meta.label_lower, target_id=str(item.pk))
            .order_by("at", "id")[:HISTORY_LIMIT]
        )
        for entry in item.shown_history:
            # Payload edits carry whole payloads: masked as the page's history masks them.
            entry.before, entry.after = mask(entry.before, masked), mask(entry.after, masked)
        return Response(ExceptionDetailSerializer(item).data)


class ReplayRequest(StrictSerializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=INT64_MAX),
        min_length=1,
        max_length=MAX_IDS,
        help_text="The exceptions to replay, of any of your firms.",
    )
    dry_run = serializers.BooleanField(required=False, default=False, help_text="true: only say what would be sent.")
    confirm_count = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_IDS,
        help_text="Queue them: the number of records the dry run said would be replayed.",
    )
    selection = serializers.CharField(
        required=False,
        max_length=64,
        help_text="The dry run's `selection`: refuses the replay if the records it would send changed since.",
    )

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if attrs.get("dry_run") and "confirm_count" in attrs:
            raise serializers.ValidationError({"confirm_count": ["a dry run queues nothing: leave confirm_count out"]})
        if not attrs.get("dry_run") and "confirm_count" not in attrs:
            raise serializers.ValidationError(
                {"confirm_count": ["send dry_run: true first, then confirm_count: the number it said to queue them"]}
            )
        return attrs


PLANNED = inline_serializer(
    "PlannedReplay",
    {
        "exception": serializers.IntegerField(),
        "workspace": serializers.CharField(),
        "target_system": serializers.CharField(),
        "record_type": serializers.CharField(),
        "external_id": serializers.CharField(),
        "idempotency_key": serializers.CharField(),
        "payload": serializers.JSONField(help_text="What would be sent, mappings applied, sensitive fields masked."),
        "mappings": serializers.JSONField(),
    },
    many=True,
)
NOT_CONNECTED = inline_serializer(
    "NotConnectedSystem",
    {"workspace": serializers.CharField(), "system": serializers.CharField(), "message": serializers.CharField()},
    many=True,
)
PLAN = inline_serializer(
    "ReplayPlan",
    {
        "count": serializers.IntegerField(help_text="Records that would be replayed: confirm with this number."),
        "selection": serializers.CharField(help_text="Send it back with confirm_count to hold the records too."),
        "skipped": serializers.IntegerField(
            help_text="Named but not replayable: not an open sync failure, or a replay already under way."
        ),
        "blocked": serializers.IntegerField(help_text="Left out because their system is not connected."),
        "not_connected": NOT_CONNECTED,
        "replays": PLANNED,
    },
)
QUEUED = inline_serializer(
    "QueuedReplays",
    {
        "queued": serializers.IntegerField(),
        "replays": inline_serializer(
            "QueuedReplay",
            {
                "id": serializers.IntegerField(),
                "exception": serializers.IntegerField(),
                "workspace": serializers.CharField(),
                "batch": serializers.UUIDField(),
                "status": serializers.CharField(),
                "target_system": serializers.CharField(),
                "idempotency_key": serializers.CharField(),
            },
            many=True,
        ),
    },
)


def overall_selection(plans):
    """The selection of plans across firms: one fingerprint of every record that would be sent."""
    ids = sorted(p.item.pk for _, plan in plans for p in plan.rows)
    return hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:16]


def plan_body(plans):
    rows = []
    for workspace, plan in plans:
        masked = masked_fields_for(workspace)
        rows += [
            {
                "exception": p.item.pk,
                "workspace": workspace.slug,
                "target_system": p.item.system.slug,
                "record_type": p.item.record_type,
                "external_id": p.item.external_id,
                "idempotency_key": p.key,
                "payload": mask(p.payload, masked),
                "mappings": p.mappings,
            }
            for p in plan.rows
        ]
    return {
        "count": sum(plan.count for _, plan in plans),
        "selection": overall_selection(plans),
        "skipped": sum(plan.skipped for _, plan in plans),
        "blocked": sum(plan.blocked for _, plan in plans),
        "not_connected": [
            {"workspace": workspace.slug, "system": system.slug, "message": message}
            for workspace, plan in plans
            for system, message in plan.not_connected
        ],
        "replays": rows,
    }


class ReplayView(PersonView):
    @extend_schema(
        operation_id="replays_request",
        summary="Replay failed records: a dry run, then queue them by confirming the count",
        description="As the queue's replay: `{ids, dry_run: true}` says what would be sent (count, payloads, "
        "systems not connected); `{ids, confirm_count: N}` (and the dry run's `selection`) queues the replays "
        "when N is still the number that would be sent, else 409 and nothing is queued. Ids of several firms "
        "are planned and checked per firm, and audited there.",
        request=ReplayRequest,
        responses={
            200: PLAN,
            202: QUEUED,
            400: error_response("A missing or malformed field; `errors` says which."),
            404: error_response("Ids that are unknown or not yours; `errors` lists them. Nothing was queued."),
            409: error_response(
                "The count or the records changed since the dry run, nothing to replay, or a "
                "system not connected: nothing was queued."
            ),
            **PERSON_ERRORS,
            **BODY_ERRORS,
        },
        tags=TAGS,
    )
    def post(self, request):
        asked = ReplayRequest(data=request.data)
        asked.is_valid(raise_exception=True)
        asked = asked.validated_data
        firms = by_firm(request, asked["ids"])
        plans = []
        for workspace, pks in firms:
            try:
                plan = services.request_replay(
                    request.user, workspace, ExceptionItem.objects.filter(pk__in=pks), dry_run=True
                )
            except PermissionDenied as denied:
                raise PermissionDenied(f"{workspace.name}: {denied}") from None
            plans.append((workspace, plan))
        if asked["dry_run"]:
            return Response(plan_body(plans))
        return self.queue(request, plans, asked)

    def queue(self, request, plans, asked):
        count = sum(plan.count for _, plan in plans)
        blocked = [message for _, plan in plans for _, message in plan.not_connected]
        if blocked:
            raise ReplayRefused(" ".join(blocked) + " Nothing was queued.")
        if count == 0:
            raise ReplayRefused("Nothing to replay: none of these is an open sync failure without a replay under way.")
        if asked.get("selection") and asked["selection"] != overall_selection(plans):
            raise ReplayRefused(
                f"The records changed since the dry run: {count} would be replayed now. Dry-run again and confirm."
            )
        if asked["confirm_count"] != count:
            raise ReplayRefused(
                f"You confirmed {asked['confirm_count']}, but {count} records would be replayed. "
                f"Confirm {count}, or dry-run again to see them. Nothing was queued."
            )
        queued = []
        with transaction.atomic(), through_api(request):
            for workspace, plan in plans:
                if not plan.count:
                    continue
                try:
                    replays = services.request_replay(
                        request.user,
                        workspace,
                        ExceptionItem.objects.filter(pk__in=[p.item.pk for p in plan.rows]),
                        confirm_count=plan.count,
                        selection=plan.selection,
                        plan=plan,
                    )
                except ActionRefused as refusal:
                    raise ReplayRefused(f"{workspace.name}: {refusal} Nothing was queued.") from None
                queued += [(workspace, replay) for replay in replays]
        systems = {p.item.system_id: p.item.system.slug for _, plan in plans for p in plan.rows}
        body = {
            "queued": len(queued),
            "replays": [
                {
                    "id": r.pk,
                    "exception": r.exception_id,
                    "workspace": workspace.slug,
                    "batch": r.batch,
                    "status": r.status,
                    "target_system": systems[r.target_system_id],
                    "idempotency_key": r.idempotency_key,
                }
                for workspace, r in queued
            ],
        }
        return Response(body, status=status.HTTP_202_ACCEPTED)


# Included at /api/v1/ by the API root (api_v1 in opsview/urls.py).
urlpatterns = [
    path("exceptions/<int:pk>/", ExceptionDetailView.as_view(), name="api-exception"),
    path("replays/", ReplayView.as_view(), name="api-replays"),
]
