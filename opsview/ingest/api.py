"""The ingest API: integration jobs report sync runs, sync events and business states.

Views are thin: they authenticate, hand the body to the rest of ``opsview.ingest`` and
render the result. Validation and writing live there. The paths are at the end, included at
/api/v1/ (``api_v1`` in ``opsview/urls.py``).
"""

from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from opsview.api.errors import error_response
from opsview.api.integration import LIST_ERRORS, READ_ERRORS, IntegrationView
from opsview.api.parsers import UnparsedJSONParser
from opsview.ingest import runs, schemas
from opsview.ingest.events import ingest_sync_events
from opsview.ingest.fields import item_serializer
from opsview.ingest.states import STATE_TYPES, upsert_states
from opsview.telemetry.models import SyncRun

ONE_RUN_ERRORS = {404: error_response("No such sync run of this system."), **READ_ERRORS}
ERROR_RESPONSES = {
    400: error_response("Invalid: `errors` lists each problem by index, field and message."),
    413: error_response("More items or bytes than the limit, which the message states."),
    415: error_response("The body is not application/json."),
    **READ_ERRORS,
}


def batch_of(name, fields):
    return inline_serializer(f"{name}Batch", {"items": serializers.ListField(child=item_serializer(name, fields)())})


class SyncRunSerializer(serializers.ModelSerializer):
    reported_by = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    source_system = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    target_system = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = SyncRun
        fields = [
            "id",
            "flow",
            "reported_by",
            "source_system",
            "target_system",
            "external_id",
            "status",
            "started_at",
            "finished_at",
            "records_total",
            "records_succeeded",
            "records_failed",
            "records_skipped",
            "message",
        ]


class WhoAmIView(IntegrationView):
    @extend_schema(
        summary="Which workspace and system this token belongs to",
        responses={
            200: inline_serializer(
                "TokenIdentity",
                {
                    "workspace": serializers.CharField(),
                    "system": serializers.CharField(),
                    "token": serializers.CharField(),
                },
            ),
            **READ_ERRORS,
        },
    )
    def get(self, request):
        return Response(
            {"workspace": self.token.workspace.slug, "system": self.token.system.slug, "token": self.token.name}
        )


class SyncRunListView(IntegrationView, generics.ListAPIView):
    serializer_class = SyncRunSerializer

    def get_queryset(self):
        return runs.runs_for(self.token).select_related("reported_by", "source_system", "target_system")

    @extend_schema(
        summary="List the sync runs this system reported, newest first",
        responses={200: SyncRunSerializer(many=True), **LIST_ERRORS},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Start a sync run",
        request=item_serializer("SyncRunStart", schemas.SYNC_RUN_START),
        responses={201: SyncRunSerializer, **ERROR_RESPONSES},
    )
    def post(self, request):
        run = runs.start_run(self.token, request.data)
        return Response(SyncRunSerializer(run).data, status=status.HTTP_201_CREATED)


class SyncRunDetailView(IntegrationView):
    def get_run(self, pk):
        return get_object_or_404(runs.runs_for(self.token), pk=pk)

    @extend_schema(summary="One sync run", responses={200: SyncRunSerializer, **ONE_RUN_ERRORS})
    def get(self, request, pk):
        return Response(SyncRunSerializer(self.get_run(pk)).data)

    @extend_schema(
        summary="Report a running sync run's progress (absolute counters)",
        request=item_serializer("SyncRunProgress", schemas.SYNC_RUN_PROGRESS),
        responses={
            200: SyncRunSerializer,
            409: error_response("The run already finished."),
            **ONE_RUN_ERRORS,
            **ERROR_RESPONSES,
        },
    )
    def patch(self, request, pk):
        run = runs.report_progress(self.token, self.get_run(pk), request.data)
        return Response(SyncRunSerializer(run).data)


class SyncRunFinishView(SyncRunDetailView):
    http_method_names = ["post", "options"]

    @extend_schema(
        summary="Finish a sync run with its status",
        request=item_serializer("SyncRunFinish", schemas.SYNC_RUN_FINISH),
        responses={
            200: SyncRunSerializer,
            409: error_response("Already finished otherwise."),
            **ONE_RUN_ERRORS,
            **ERROR_RESPONSES,
        },
    )
    def post(self, request, pk):
        run = runs.finish_run(self.token, self.get_run(pk), request.data)
        return Response(SyncRunSerializer(run).data)


EVENT_RESULT = inline_serializer(
    "SyncEventBatchResult",
    {
        "received": serializers.IntegerField(),
        "created": serializers.IntegerField(),
        "duplicates": serializers.IntegerField(),
    },
)


class SyncEventBatchView(IntegrationView):
    parser_classes = [UnparsedJSONParser]  # ingest_sync_events reads the JSON itself, faster

    @extend_schema(
        summary="Report a batch of sync events (at most 1,000), all or nothing",
        description="One event per record a run touched. Resending an event id is counted as a duplicate.",
        request=batch_of("SyncEvent", schemas.SYNC_EVENT),
        responses={200: EVENT_RESULT, **ERROR_RESPONSES},
    )
    def post(self, request):
        return Response(ingest_sync_events(self.token, request.data))


STATE_RESULT = inline_serializer(
    "StateBatchResult",
    {
        "received": serializers.IntegerField(),
        "created": serializers.IntegerField(),
        "updated": serializers.IntegerField(),
        "duplicates": serializers.IntegerField(help_text="Same version as stored; nothing changed."),
        "stale": serializers.IntegerField(help_text="Older than stored; not applied."),
        "stale_items": serializers.ListField(child=serializers.DictField()),
    },
)


def state_batch_view(state_type):
    """An upsert endpoint for one kind of business state."""
    name = state_type.model.__name__

    class StateBatchView(IntegrationView):
        @extend_schema(
            summary=f"Upsert a batch of {state_type.model._meta.verbose_name_plural} (at most 1,000), all or nothing",
            description="Keyed by external id within this token's system. A report older than the stored one "
            "(by version, else updated_at) is not applied and is listed in stale_items.",
            request=batch_of(name, state_type.fields),
            responses={200: STATE_RESULT, **ERROR_RESPONSES},
        )
        def post(self, request):
            return Response(upsert_states(self.token.system, state_type, request.data))

    StateBatchView.__name__ = f"{name}BatchView"
    return StateBatchView.as_view()


STATE_VIEWS = {kind: state_batch_view(state_type) for kind, state_type in STATE_TYPES.items()}

urlpatterns = [
    path("whoami/", WhoAmIView.as_view(), name="api-whoami"),
    path("sync-runs/", SyncRunListView.as_view(), name="api-sync-runs"),
    path("sync-runs/<int:pk>/", SyncRunDetailView.as_view(), name="api-sync-run"),
    path("sync-runs/<int:pk>/finish/", SyncRunFinishView.as_view(), name="api-sync-run-finish"),
    path("sync-events/", SyncEventBatchView.as_view(), name="api-sync-events"),
] + [path(f"states/{kind}/", view, name=f"api-states-{kind}") for kind, view in STATE_VIEWS.items()]
