"""The operations API: the exception queues for people and their tools, across every firm they work in.

Lists and filters exceptions and groups as the queue page does, and performs the queue's actions (claim,
assign, comment, resolve, snooze, ignore, reopen) through ``opsview.queues.services``, the same calls the
pages make (``ops_actions``): each firm's items are permission-checked and audited there, with the firm's
own role. One exception with its events and replays is in ``opsview.replay.api`` (replays sit above the queues).

Authenticated with a personal token (``opp_…``) or the session; an integration token gets 403.
"""

from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.response import Response

from opsview.api.errors import error_response
from opsview.api.people import PERSON_ERRORS, TAGS, FirmSerializer, PersonView, firm_of
from opsview.common.bounds import INT64_MAX
from opsview.queues.filtersets import DEFAULT_SORT, MAX_SEARCH, SORTS, STATUS_OPTIONS, matches
from opsview.queues.models import ExceptionGroup, ExceptionItem, Kind, Status
from opsview.queues.money import money_at_stake
from opsview.queues.ops_actions import ExceptionActionView
from opsview.queues.tables import grouped


class ExceptionSerializer(serializers.Serializer):
    """One exception as the queue lists it, with its firm."""

    id = serializers.IntegerField()
    url = serializers.SerializerMethodField(help_text="This exception in the API.")
    page = serializers.SerializerMethodField(help_text="This exception's page in the browser.")
    workspace = FirmSerializer(help_text="The firm the exception belongs to.")
    kind = serializers.CharField(help_text="One of: " + ", ".join(Kind.values) + ".")
    status = serializers.CharField(help_text="One of: " + ", ".join(Status.values) + ".")
    title = serializers.CharField(source="__str__", help_text="The record in business words.")
    record_type = serializers.CharField()
    external_id = serializers.CharField()
    system = serializers.CharField(source="system.slug", help_text="Where the record failed.")
    source_system = serializers.CharField(source="source_system.slug")
    group = serializers.IntegerField(source="group_id")
    project = serializers.CharField(source="project.code", allow_null=True)
    client = serializers.CharField(source="client.name", allow_null=True)
    error_code = serializers.CharField()
    error_message = serializers.CharField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="The money the record holds up.")
    currency = serializers.CharField()
    record_date = serializers.DateField()
    first_seen_at = serializers.DateTimeField()
    last_seen_at = serializers.DateTimeField()
    sla_due_at = serializers.DateTimeField()
    past_sla = serializers.BooleanField(source="is_past_sla")
    occurrences = serializers.IntegerField()
    recurrences = serializers.IntegerField()
    assignee = serializers.CharField(source="assignee.username", allow_null=True)
    snoozed_until = serializers.DateTimeField(allow_null=True)
    resolution = serializers.CharField()
    resolution_note = serializers.CharField()
    resolved_at = serializers.DateTimeField(allow_null=True)

    def get_url(self, item) -> str:
        return reverse("api-exception", args=[item.pk])

    def get_page(self, item) -> str:
        return reverse("queue-item", args=[item.pk])


# What the list's rows need, in one query with them.
ITEM_RELATIONS = ("workspace", "system", "source_system", "project", "client", "assignee")


class ExceptionFilters(serializers.Serializer):
    """The queue page's filters, by name: a value that cannot be used is a 400 naming it, never ignored."""

    workspace = serializers.CharField(required=False, max_length=80, help_text="A firm's slug; default: all yours.")
    status = serializers.ChoiceField(
        choices=[value for value, _ in STATUS_OPTIONS],
        required=False,
        help_text="open (default), pending (open or snoozed), snoozed, resolved, ignored or all.",
    )
    kind = serializers.ChoiceField(choices=Kind.values, required=False)
    system = serializers.SlugField(required=False, max_length=60, help_text="Where it failed: the system's slug.")
    group = serializers.IntegerField(required=False, min_value=1, max_value=INT64_MAX, help_text="A group's id.")
    assignee = serializers.CharField(
        required=False, max_length=150, help_text="'me', 'none' (nobody) or a teammate's username."
    )
    q = serializers.CharField(
        required=False,
        max_length=MAX_SEARCH,
        help_text="Words the queue's search finds: invoice number, project, client, person, external id, "
        "amount, error.",
    )
    sort = serializers.ChoiceField(choices=list(SORTS), required=False, help_text="money (default), age, sla…")


def by_status(items, value):
    if value == "pending":
        return items.pending()
    return items if value == "all" else items.filter(status=value)


def filtered_items(request, params):
    """The exceptions the person sees that match ``params`` (validated ``ExceptionFilters``), in order."""
    workspace = firm_of(request, params["workspace"]) if params.get("workspace") else None
    items = ExceptionItem.objects.visible_to(request.user, workspace)
    items = by_status(items, params.get("status") or "open")
    if params.get("kind"):
        items = items.filter(kind=params["kind"])
    if params.get("system"):
        items = items.filter(system__slug=params["system"])
    if params.get("group"):
        items = items.filter(group_id=params["group"])
    assignee = params.get("assignee")
    if assignee == "me":
        items = items.filter(assignee=request.user)
    elif assignee == "none":
        items = items.filter(assignee__isnull=True)
    elif assignee:
        items = items.filter(assignee__username=assignee)
    if (params.get("q") or "").strip():
        items = items.filter(matches(params["q"]))
    return items.order_by(*SORTS[params.get("sort") or DEFAULT_SORT][1])


def query_params(request, serializer_class):
    params = serializer_class(data=request.query_params)
    params.is_valid(raise_exception=True)
    return params.validated_data


LIST_ERRORS = {
    400: error_response("A filter, ?limit= or ?offset= that cannot be used; `errors` names it."),
    404: error_response("A firm (?workspace=) that is not among yours."),
    **PERSON_ERRORS,
}


class ExceptionListView(PersonView, generics.ListAPIView):
    serializer_class = ExceptionSerializer

    def get_queryset(self):
        params = query_params(self.request, ExceptionFilters)
        return filtered_items(self.request, params).select_related(*ITEM_RELATIONS)

    @extend_schema(
        operation_id="exceptions_list",
        summary="Exceptions in your firms, filtered as on the queue page",
        description="Every exception you see, in every firm you work in (or one, `?workspace=`), most money "
        "first; a manager sees their own projects' only. Filters as on the queue page; the open ones by default.",
        parameters=[ExceptionFilters],
        responses={200: ExceptionSerializer(many=True), **LIST_ERRORS},
        tags=TAGS,
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class GroupFilters(serializers.Serializer):
    workspace = serializers.CharField(required=False, max_length=80, help_text="A firm's slug; default: all yours.")
    status = serializers.ChoiceField(
        choices=[value for value, _ in STATUS_OPTIONS],
        required=False,
        help_text="Groups with exceptions of this status, counted: open (default), pending, …, all.",
    )
    kind = serializers.ChoiceField(choices=Kind.values, required=False)
    system = serializers.SlugField(required=False, max_length=60)


class GroupSerializer(serializers.Serializer):
    """A group (exceptions with one cause) and what of it matches the filters."""

    id = serializers.IntegerField()
    url = serializers.SerializerMethodField()
    page = serializers.SerializerMethodField()
    workspace = FirmSerializer()
    kind = serializers.CharField(help_text="One of: " + ", ".join(Kind.values) + ".")
    system = serializers.CharField(source="system.slug")
    record_type = serializers.CharField()
    error_code = serializers.CharField()
    message = serializers.CharField(help_text="The error message with ids and numbers taken out.")
    mapping_kind = serializers.CharField()
    mapping_value = serializers.CharField()
    first_seen_at = serializers.DateTimeField()
    last_seen_at = serializers.DateTimeField()
    exceptions = serializers.IntegerField(help_text="Its exceptions that match the filters, among those you see.")
    amount = serializers.DecimalField(max_digits=20, decimal_places=2, help_text="Their amounts added up.")
    oldest_record_date = serializers.DateField()

    def get_url(self, group) -> str:
        return reverse("api-group", args=[group.pk])

    def get_page(self, group) -> str:
        return reverse("queue-group", args=[group.pk])


class GroupListView(PersonView, generics.ListAPIView):
    serializer_class = GroupSerializer

    def get_queryset(self):
        params = query_params(self.request, GroupFilters)
        return grouped(filtered_items(self.request, params), DEFAULT_SORT)

    def list(self, request, *args, **kwargs):
        rows = self.paginate_queryset(self.get_queryset())
        found = ExceptionGroup.objects.select_related("system", "workspace").in_bulk([r["group_id"] for r in rows])
        groups = []
        for row in rows:
            group = found[row["group_id"]]
            group.exceptions, group.amount, group.oldest_record_date = row["n"], row["money"], row["oldest"]
            groups.append(group)
        return self.get_paginated_response(self.get_serializer(groups, many=True).data)

    @extend_schema(
        operation_id="groups_list",
        summary="Groups of exceptions (one cause each) in your firms",
        description="Groups with exceptions you see of the status asked (open by default), most money first, "
        "each with how many and how much.",
        parameters=[GroupFilters],
        responses={200: GroupSerializer(many=True), **LIST_ERRORS},
        tags=TAGS,
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


STAKE = inline_serializer(
    "GroupMoneyAtStake",
    {
        "by_currency": serializers.ListField(child=serializers.DictField()),
        "records": serializers.IntegerField(),
        "exceptions": serializers.IntegerField(),
    },
)


class GroupDetailSerializer(GroupSerializer):
    exceptions = None
    amount = None
    oldest_record_date = None
    fix_guide = serializers.CharField()
    by_status = serializers.DictField(child=serializers.IntegerField(), help_text="Its exceptions you see, by status.")
    stake = STAKE
    exceptions_url = serializers.SerializerMethodField(help_text="Its exceptions, any status, in the API.")

    def get_exceptions_url(self, group) -> str:
        return f"{reverse('api-exceptions')}?group={group.pk}&status=all"


class GroupDetailView(PersonView):
    @extend_schema(
        operation_id="groups_retrieve",
        summary="One group: its cause, fix guide, counts by status and money at stake",
        responses={200: GroupDetailSerializer, 404: error_response("No such group among yours."), **PERSON_ERRORS},
        tags=TAGS,
    )
    def get(self, request, pk):
        group = get_object_or_404(ExceptionGroup.objects.visible_to(request.user).select_related("system"), pk=pk)
        members = ExceptionItem.objects.visible_to(request.user, group.workspace_id).filter(group=group)
        group.by_status = dict.fromkeys(Status.values, 0)
        for state, count in members.order_by().values_list("status").annotate(n=Count("id")):
            group.by_status[state] = count
        if not any(group.by_status.values()):
            raise Http404("No exceptions of yours in this group.")  # a manager sees only their projects' groups
        group.stake = money_at_stake(members.pending())
        return Response(GroupDetailSerializer(group).data)


# Included at /api/v1/ by the API root (api_v1 in opsview/urls.py).
urlpatterns = [
    path("exceptions/", ExceptionListView.as_view(), name="api-exceptions"),
    path("exceptions/actions/", ExceptionActionView.as_view(), name="api-exceptions-act"),
    path("groups/", GroupListView.as_view(), name="api-groups"),
    path("groups/<int:pk>/", GroupDetailView.as_view(), name="api-group"),
]
