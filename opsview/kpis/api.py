"""The KPI API: each KPI of ``opsview.kpis.catalog`` as JSON, for BI tools, with the dashboards' filters.

For people: signed in (session) or with a personal token (``opp_…``, for BI tools), never with an
integration token. Rows are what the user's role allows, read afresh on each request: a manager's
figures cover their own projects. Each
KPI's JSON shape is its catalog entry's serializer; the query parameters are
``ScopeForm``'s fields, documented from the form.
"""

from django import forms
from django.http import Http404
from django.urls import path, reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ParseError
from rest_framework.response import Response

from opsview.api.authentication import memberships_of
from opsview.api.errors import error_response
from opsview.api.people import PERSON_ERRORS, PersonView
from opsview.kpis.catalog import CATALOG
from opsview.kpis.forms import ScopeForm, scope_from_params
from opsview.kpis.scope import ScopeError

# The OpenAPI type of each kind of form field the filters use.
PARAMETER_TYPES = {forms.DateField: OpenApiTypes.DATE, forms.IntegerField: int, forms.ChoiceField: str}


def parameter_of(name, field):
    """The OpenAPI query parameter for one of ``ScopeForm``'s fields: its type, help text and choices."""
    kinds = [kind for form_field, kind in PARAMETER_TYPES.items() if isinstance(field, form_field)]
    if not kinds:
        raise TypeError(f"ScopeForm.{name}: say in PARAMETER_TYPES how the API documents a {type(field).__name__}.")
    kind = kinds[0]
    choices = [value for value, _label in getattr(field, "choices", []) if value]
    return OpenApiParameter(name, kind, enum=choices or None, description=str(field.help_text))


SCOPE_PARAMETERS = [
    # Only the API takes a workspace by name; pages show the one chosen in the session.
    OpenApiParameter(
        "workspace",
        str,
        description="Workspace slug; default: the one chosen in the session, or a token's user's only one.",
    ),
    *(parameter_of(name, field) for name, field in ScopeForm.base_fields.items()),
]
SIGNED_OUT = PERSON_ERRORS
ERRORS = {
    400: error_response("A malformed filter, or no ?workspace= for a token of several firms; `detail` says which."),
    404: error_response("A workspace, client, project, manager or system you cannot see."),
    **SIGNED_OUT,
}


def workspace_of(request):
    """The workspace named by ``?workspace=`` among the user's, else the session's current one.

    A token has no session: its user's only workspace, or a 400 asking which when they have several.
    """
    slug = request.query_params.get("workspace")
    memberships = memberships_of(request)
    if not slug:
        current = getattr(request, "workspace", None) if request.auth is None else None
        if current is not None:
            return current
        if not memberships:
            raise Http404("You are not a member of any workspace.")
        if len(memberships) > 1:
            slugs = ", ".join(m.workspace.slug for m in memberships)
            raise ParseError(f"workspace: say which firm with ?workspace= (one of {slugs}).")
        return memberships[0].workspace
    for membership in memberships:
        if membership.workspace.slug == slug:
            return membership.workspace
    raise Http404("No such workspace among yours.")


class KpiView(PersonView):
    kpi = None

    def get(self, request):
        try:
            scope = scope_from_params(request.user, workspace_of(request), request.query_params)
        except ScopeError as exc:
            raise ParseError(str(exc)) from None
        return Response(self.kpi.serializer(self.kpi.compute(scope), many=self.kpi.many).data)


def kpi_view(kpi):
    """The view of one KPI, with its own OpenAPI operation: its definition, parameters and shape."""
    schema = extend_schema(
        operation_id=f"kpi_{kpi.slug.replace('-', '_')}",
        summary=kpi.title,
        description=kpi.definition,
        parameters=SCOPE_PARAMETERS,
        responses={200: kpi.serializer(many=kpi.many), **ERRORS},
        tags=["kpis"],
    )

    def get(self, request):  # a function of its own, so each KPI keeps its own schema
        return KpiView.get(self, request)

    return type(f"{kpi.serializer.__name__}KpiView", (KpiView,), {"kpi": kpi, "get": schema(get)}).as_view()


KPI_INDEX_ENTRY = inline_serializer(
    "KpiIndexEntry",
    {
        "slug": serializers.CharField(),
        "title": serializers.CharField(),
        "definition": serializers.CharField(),
        "url": serializers.CharField(),
    },
    many=True,
)


class KpiIndexView(PersonView):
    @extend_schema(
        operation_id="kpi_index",
        summary="Every KPI, its definition and its URL",
        tags=["kpis"],
        responses={200: KPI_INDEX_ENTRY, **SIGNED_OUT},
    )
    def get(self, request):
        return Response(
            [
                {"slug": k.slug, "title": k.title, "definition": k.definition, "url": reverse(f"api-kpi-{k.slug}")}
                for k in CATALOG
            ]
        )


# Included at /api/v1/kpis/ by the API root (api_v1 in opsview/urls.py).
urlpatterns = [path("", KpiIndexView.as_view(), name="api-kpis")] + [
    path(f"{kpi.slug}/", kpi_view(kpi), name=f"api-kpi-{kpi.slug}") for kpi in CATALOG
]
