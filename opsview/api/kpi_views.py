"""The KPI API: each KPI of ``opsview.kpis.catalog`` as JSON, for BI tools, with the dashboards' filters.

For signed-in people (session), never for integration tokens. Rows are what
the user's role allows: a manager's figures cover their own projects.
"""

from django.http import Http404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import ParseError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from opsview.api.errors import error_response
from opsview.api.kpi_serializers import SHAPES
from opsview.kpis.catalog import CATALOG
from opsview.kpis.scope import PERIODS, ScopeError, scope_from_params

SCOPE_PARAMETERS = [
    OpenApiParameter("workspace", str, description="Workspace slug; default: the one chosen in the session."),
    OpenApiParameter("period", str, enum=list(PERIODS), description="A named period; overrides start and end."),
    OpenApiParameter("start", OpenApiTypes.DATE, description="First day, in the workspace's time zone."),
    OpenApiParameter("end", OpenApiTypes.DATE, description="Last day, inclusive; default today (last 30 days)."),
    OpenApiParameter("client", int, description="Only this client's projects."),
    OpenApiParameter("project", int, description="Only this project."),
    OpenApiParameter("manager", int, description="Only projects this person (a project manager) manages."),
    OpenApiParameter("system", int, description="Only records of this system (sync: as source or target)."),
]
SIGNED_OUT = {403: error_response("Not signed in.")}
ERRORS = {
    400: error_response("A malformed filter; `detail` says which and why."),
    404: error_response("A workspace, client, project, manager or system you cannot see."),
    **SIGNED_OUT,
}


def workspace_of(request):
    """The workspace named by ``?workspace=`` among the user's, else the session's current one."""
    slug = request.query_params.get("workspace")
    if not slug:
        if request.workspace is None:
            raise Http404("You are not a member of any workspace.")
        return request.workspace
    for membership in request.memberships:
        if membership.workspace.slug == slug:
            return membership.workspace
    raise Http404("No such workspace among yours.")


class KpiView(APIView):
    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAuthenticated]
    kpi = None

    def get(self, request):
        try:
            scope = scope_from_params(request.user, workspace_of(request), request.query_params)
        except ScopeError as exc:
            raise ParseError(str(exc)) from None
        serializer, many = SHAPES[self.kpi.slug]
        return Response(serializer(self.kpi.compute(scope), many=many).data)


def kpi_view(kpi):
    serializer, many = SHAPES[kpi.slug]
    schema = extend_schema(
        operation_id=f"kpi_{kpi.slug.replace('-', '_')}",
        summary=kpi.title,
        description=kpi.definition,
        parameters=SCOPE_PARAMETERS,
        responses={200: serializer(many=many), **ERRORS},
        tags=["kpis"],
    )

    def get(self, request):  # a function of its own, so each KPI keeps its own schema
        return KpiView.get(self, request)

    return type(f"{serializer.__name__}KpiView", (KpiView,), {"kpi": kpi, "get": schema(get)}).as_view()


class KpiIndexView(APIView):
    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="kpi_index",
        summary="Every KPI, its definition and its URL",
        tags=["kpis"],
        responses={
            200: inline_serializer(
                "KpiIndexEntry",
                {
                    "slug": serializers.CharField(),
                    "title": serializers.CharField(),
                    "definition": serializers.CharField(),
                    "url": serializers.CharField(),
                },
                many=True,
            ),
            **SIGNED_OUT,
        },  # fmt: skip
    )
    def get(self, request):
        return Response(
            [
                {"slug": k.slug, "title": k.title, "definition": k.definition, "url": reverse(f"api-kpi-{k.slug}")}
                for k in CATALOG
            ]
        )
