"""Mappings for integration jobs: what operators mapped in the queues, so the next sync uses it."""

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers

from opsview.api.integration import LIST_ERRORS, IntegrationView
from opsview.queues.models import Mapping


class MappingSerializer(serializers.ModelSerializer):
    source_system = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    target_system = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Mapping
        fields = ["kind", "source_system", "target_system", "source_value", "target_value", "created_at"]


class MappingListView(IntegrationView, generics.ListAPIView):
    serializer_class = MappingSerializer

    def get_queryset(self):
        token = self.request.auth
        mappings = Mapping.objects.for_workspace(token.workspace).select_related("source_system", "target_system")
        mappings = mappings.filter(source_system=token.system) | mappings.filter(target_system=token.system)
        kind = self.request.query_params.get("kind")
        return mappings.filter(kind=kind) if kind else mappings

    @extend_schema(
        summary="Mappings of unknown values to the target's own, for this token's system",
        description="Operators map values a target did not know (a project code, client, person or tax code) "
        "in the exception queues. Jobs apply these before sending; `?kind=project` narrows to one kind.",
        responses={200: MappingSerializer(many=True), **LIST_ERRORS},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


urlpatterns = [path("mappings/", MappingListView.as_view(), name="api-mappings")]
