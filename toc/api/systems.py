"""A system, its stages, ingest keys and each stage's features.

Writes go through the browser's forms and services (see toc.api.common), with
the browser's roles: viewers read, editors change systems, stages and
features, admins delete systems and manage ingest keys.
"""

from __future__ import annotations

from django.urls import path
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from toc.accounts.models import Role
from toc.api.common import (
    ByName,
    ByPosition,
    bound_form,
    check_if_match,
    require_valid,
    serializer_for,
    tagged,
)
from toc.api.jsontypes import JsonTyped
from toc.api.permissions import IsPerson
from toc.api.serializers import StageSerializer, SystemSerializer
from toc.lib import unique
from toc.systems import services
from toc.systems.access import get_stage, get_system
from toc.systems.forms import FeatureForm, StageForm, SystemForm
from toc.systems.models import (
    MAX_ITEMS_PER_HOUR,
    MAX_PEOPLE,
    Feature,
    IngestKey,
    Stage,
    System,
)

MOVES = {"up": -1, "down": 1}


class SystemWriteSerializer(serializers.ModelSerializer):
    class Meta:
        model = System
        fields = ["name", "description"]


class StageWriteSerializer(serializers.ModelSerializer):
    """What a stage write takes (the schema's; StageForm validates)."""

    people = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_PEOPLE,
        help_text="How many people work a `human` stage at once; null (or left "
        "out) for a machine stage.",
    )
    items_per_hour = serializers.FloatField(
        required=False,
        allow_null=True,
        max_value=MAX_ITEMS_PER_HOUR,
        help_text="Items one person of a `human` stage gets through an hour, "
        "above 0; null (or left out) for a machine stage.",
    )

    class Meta:
        model = Stage
        # What the browser's stage form writes, written through its checks.
        fields = StageForm.Meta.fields
        # Without one (or with ""), the slug is made from the name.
        extra_kwargs = {
            "slug": {"required": False, "allow_blank": True},
            "kind": {
                "help_text": "`machine` (the default): its samples report their "
                "capacity. `human`: people working items by hand; capacity is "
                "people x items per hour, and its samples may leave it out."
            },
        }


@extend_schema_view(
    put=extend_schema(request=SystemWriteSerializer),
    patch=extend_schema(request=SystemWriteSerializer),
)
class SystemDetail(APIView):
    """A system with its stages. PUT or PATCH its `name` and `description`
    (editors; the slug never changes); DELETE it with everything recorded about
    it (admins)."""

    # The methods that answer 412 to a stale If-Match; the schema lists it there.
    checks_if_match = ("PUT", "PATCH", "DELETE")

    permission_classes = [IsPerson]
    serializer_class = SystemSerializer

    def get(self, request, slug: str) -> Response:
        system, _ = get_system(request, slug)
        return tagged(_system(system))

    def put(self, request, slug: str, partial: bool = False) -> Response:
        system, _ = get_system(request, slug, needs=Role.EDITOR)
        check_if_match(request, _system(system))
        form = bound_form(SystemForm, request.data, instance=system, partial=partial)
        require_valid(form).save()
        return tagged(_system(system))

    def patch(self, request, slug: str) -> Response:
        return self.put(request, slug, partial=True)

    def delete(self, request, slug: str) -> Response:
        system, _ = get_system(request, slug, needs=Role.ADMIN)
        check_if_match(request, _system(system))
        system.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


def _system(system: System) -> dict:
    return SystemSerializer(system).data


class StageList(generics.ListAPIView):
    """The system's stages in pipeline order; POST adds one at the end (editors).
    Without a `slug`, one is made from the name."""

    permission_classes = [IsPerson]
    serializer_class = StageSerializer
    pagination_class = ByPosition

    def get_queryset(self):
        system, _ = get_system(self.request, self.kwargs["slug"])
        return system.stages.all()

    @extend_schema(request=StageWriteSerializer, responses={201: StageSerializer})
    def post(self, request, slug: str) -> Response:
        system, _ = get_system(request, slug, needs=Role.EDITOR)
        form = bound_form(StageForm, request.data, system=system)
        stage = unique.saved(
            form, lambda: services.stage_create(system=system, form=form)
        )
        if stage is None:
            require_valid(form)
        return tagged(StageSerializer(stage).data, status.HTTP_201_CREATED)


@extend_schema_view(
    put=extend_schema(request=StageWriteSerializer),
    patch=extend_schema(request=StageWriteSerializer),
)
class StageDetail(APIView):
    """One stage. PUT or PATCH `name`, `slug`, `unit`, `description`, `kind`,
    `people`, `items_per_hour` (editors): a `human` stage needs both numbers
    above 0, a machine stage neither. DELETE removes it and its samples
    (editors), and the stages after it move up."""

    # The methods that answer 412 to a stale If-Match; the schema lists it there.
    checks_if_match = ("PUT", "PATCH", "DELETE")

    permission_classes = [IsPerson]
    serializer_class = StageSerializer

    def get(self, request, slug: str, stage: str) -> Response:
        return tagged(
            StageSerializer(get_stage(request, slug, stage, needs=Role.VIEWER)).data
        )

    def put(self, request, slug: str, stage: str, partial: bool = False) -> Response:
        found = get_stage(request, slug, stage, needs=Role.EDITOR)
        check_if_match(request, StageSerializer(found).data)
        form = bound_form(
            StageForm,
            request.data,
            instance=found,
            partial=partial,
            system=found.system,
        )
        if unique.saved(form, form.save) is None:
            require_valid(form)
        return tagged(StageSerializer(found).data)

    def patch(self, request, slug: str, stage: str) -> Response:
        return self.put(request, slug, stage, partial=True)

    def delete(self, request, slug: str, stage: str) -> Response:
        found = get_stage(request, slug, stage, needs=Role.EDITOR)
        check_if_match(request, StageSerializer(found).data)
        services.stage_delete(stage=found)
        return Response(status=status.HTTP_204_NO_CONTENT)


class StageMoveSerializer(JsonTyped, serializers.Serializer):
    direction = serializers.ChoiceField(choices=list(MOVES))


@extend_schema(request=StageMoveSerializer, responses=StageSerializer(many=True))
class StageMove(APIView):
    """Moves a stage one place `up` (upstream) or `down` the pipeline (editors);
    answers with the stages in their new order."""

    permission_classes = [IsPerson]
    serializer_class = StageMoveSerializer

    def post(self, request, slug: str, stage: str) -> Response:
        found = get_stage(request, slug, stage, needs=Role.EDITOR)
        move = StageMoveSerializer(data=request.data)
        move.is_valid(raise_exception=True)
        services.stage_move(stage=found, offset=MOVES[move.validated_data["direction"]])
        return Response(StageSerializer(found.system.stages.all(), many=True).data)


IngestKeySerializer = serializer_for(
    IngestKey,
    ["name", "token_key", "created", "last_used", "revoked_at"],
    name="IngestKeySerializer",
)


class NewIngestKeySerializer(JsonTyped, serializers.ModelSerializer):
    key = serializers.CharField(read_only=True, help_text="Shown once, never again.")

    class Meta:
        model = IngestKey
        fields = ["id", "name", "token_key", "created", "key"]
        read_only_fields = ["token_key", "created"]


@extend_schema_view(
    get=extend_schema(responses=IngestKeySerializer(many=True)),
    post=extend_schema(responses={201: NewIngestKeySerializer}),
)
class IngestKeyList(APIView):
    """The system's ingest keys, newest first, by name and first characters only
    (admins). POST `{"name"}` creates one: the answer holds the whole key, once."""

    permission_classes = [IsPerson]
    serializer_class = NewIngestKeySerializer

    def get(self, request, slug: str) -> Response:
        system, _ = get_system(request, slug, needs=Role.ADMIN)
        return Response(IngestKeySerializer(system.ingest_keys.all(), many=True).data)

    def post(self, request, slug: str) -> Response:
        system, _ = get_system(request, slug, needs=Role.ADMIN)
        new = NewIngestKeySerializer(data=request.data)
        new.is_valid(raise_exception=True)
        key, plaintext = IngestKey.issue(
            system=system, name=new.validated_data["name"], created_by=request.user
        )
        response = Response(
            {**NewIngestKeySerializer(key).data, "key": plaintext},
            status=status.HTTP_201_CREATED,
        )
        add_never_cache_headers(response)
        return response


@extend_schema(responses={204: None})
class IngestKeyRevoke(APIView):
    """Revokes a key (admins): from now on it posts nothing."""

    permission_classes = [IsPerson]

    def delete(self, request, slug: str, key_id: int) -> Response:
        system, _ = get_system(request, slug, needs=Role.ADMIN)
        key = system.ingest_keys.active().filter(pk=key_id).first()
        if key is None:
            raise NotFound("No such active key.")
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        return Response(status=status.HTTP_204_NO_CONTENT)


FeatureSerializer = serializer_for(
    Feature, ["name", "importance", "compute_cost"], name="FeatureSerializer"
)


class FeatureList(generics.ListAPIView):
    """A stage's feature registry by name; POST registers one (editors). Cycles
    read it to find pruning candidates (value = importance / compute cost)."""

    permission_classes = [IsPerson]
    serializer_class = FeatureSerializer
    pagination_class = ByName

    def get_queryset(self):
        kwargs = self.kwargs
        found = get_stage(
            self.request, kwargs["slug"], kwargs["stage"], needs=Role.VIEWER
        )
        return found.features.all()

    @extend_schema(responses={201: FeatureSerializer})
    def post(self, request, slug: str, stage: str) -> Response:
        found = get_stage(request, slug, stage, needs=Role.EDITOR)
        form = bound_form(FeatureForm, request.data, instance=Feature(stage=found))
        feature = unique.saved(form, form.save)
        if feature is None:
            require_valid(form)
        return tagged(FeatureSerializer(feature).data, status.HTTP_201_CREATED)


class FeatureDetail(APIView):
    """One feature of a stage: PUT, PATCH or DELETE it (editors)."""

    # The methods that answer 412 to a stale If-Match; the schema lists it there.
    checks_if_match = ("PUT", "PATCH", "DELETE")

    permission_classes = [IsPerson]
    serializer_class = FeatureSerializer

    def _feature(self, request, slug: str, stage: str, pk: int, needs: Role):
        found = get_stage(request, slug, stage, needs=needs)
        feature = found.features.filter(pk=pk).first()
        if feature is None:
            raise NotFound("No such feature.")
        return found, feature

    def get(self, request, slug: str, stage: str, pk: int) -> Response:
        _, feature = self._feature(request, slug, stage, pk, Role.VIEWER)
        return tagged(FeatureSerializer(feature).data)

    def put(self, request, slug: str, stage: str, pk: int, partial=False) -> Response:
        _, feature = self._feature(request, slug, stage, pk, Role.EDITOR)
        check_if_match(request, FeatureSerializer(feature).data)
        form = bound_form(FeatureForm, request.data, instance=feature, partial=partial)
        if unique.saved(form, form.save) is None:
            require_valid(form)
        return tagged(FeatureSerializer(feature).data)

    def patch(self, request, slug: str, stage: str, pk: int) -> Response:
        return self.put(request, slug, stage, pk, partial=True)

    def delete(self, request, slug: str, stage: str, pk: int) -> Response:
        _, feature = self._feature(request, slug, stage, pk, Role.EDITOR)
        check_if_match(request, FeatureSerializer(feature).data)
        feature.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


urlpatterns = [
    path("systems/<slug:slug>/", SystemDetail.as_view(), name="system"),
    path("systems/<slug:slug>/stages/", StageList.as_view(), name="stages"),
    path(
        "systems/<slug:slug>/stages/<slug:stage>/",
        StageDetail.as_view(),
        name="stage",
    ),
    path(
        "systems/<slug:slug>/stages/<slug:stage>/move/",
        StageMove.as_view(),
        name="stage-move",
    ),
    path(
        "systems/<slug:slug>/stages/<slug:stage>/features/",
        FeatureList.as_view(),
        name="features",
    ),
    path(
        "systems/<slug:slug>/stages/<slug:stage>/features/<int:pk>/",
        FeatureDetail.as_view(),
        name="feature",
    ),
    path(
        "systems/<slug:slug>/ingest-keys/", IngestKeyList.as_view(), name="ingest-keys"
    ),
    path(
        "systems/<slug:slug>/ingest-keys/<int:key_id>/",
        IngestKeyRevoke.as_view(),
        name="ingest-key",
    ),
]
