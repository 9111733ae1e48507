"""Who owns each step of a cycle, by when, and the comments on it, for scripts.

The browser's rules (toc.cycles.steps_plan): editors of an open cycle set the
owner and due date and post comments; viewers read; another team's cycle is
404. The forms are the step page's.
"""

from __future__ import annotations

from django.db import transaction
from django.http import Http404
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from toc.api.common import bound_form, require_valid
from toc.api.cycle_rows import locked_cycle
from toc.api.permissions import IsPerson
from toc.cycles import steps_plan
from toc.cycles.access import get_cycle
from toc.cycles.models import Comment, Cycle, StepPlan
from toc.cycles.records import STEPS

STEP = OpenApiParameter(
    "step",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    enum=list(STEPS),
    description="The step of the cycle's chain.",
)


class StepPlanSerializer(serializers.Serializer):
    step = serializers.CharField(read_only=True)
    # Left out of a PUT, each is null, as on an empty form.
    owner = serializers.CharField(
        allow_null=True,
        allow_blank=True,
        required=False,
        help_text="Username of a member of the system's team; null or empty: nobody.",
    )
    due = serializers.DateField(allow_null=True, required=False)
    overdue = serializers.BooleanField(
        read_only=True, help_text="The due date passed while the cycle is open."
    )


class CommentSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    author = serializers.CharField(
        read_only=True, allow_null=True, help_text="null once the author is gone."
    )
    text = serializers.CharField(
        max_length=4000, help_text="@username mentions a member of the team."
    )
    created = serializers.DateTimeField(read_only=True)
    mentions = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="The usernames of the team members the text mentions.",
    )


def _step(step: str) -> str:
    if step not in STEPS:
        raise Http404("No such step; the steps are " + ", ".join(STEPS) + ".")
    return step


def _show_plan(cycle: Cycle, plan: StepPlan) -> dict:
    return {
        "step": plan.step,
        "owner": plan.owner.get_username() if plan.owner else None,
        "due": plan.due.isoformat() if plan.due else None,
        "overdue": steps_plan.is_overdue(plan, cycle),
    }


def _show_comment(comment: Comment) -> dict:
    author = comment.author
    return {
        "id": comment.pk,
        "author": author.get_username() if author else None,
        "text": comment.text,
        "created": serializers.DateTimeField().to_representation(comment.created),
        "mentions": sorted(user.get_username() for user in comment.mentions.all()),
    }


@extend_schema(parameters=[STEP])
class StepPlanDetail(generics.GenericAPIView):
    """GET: the step's owner and due date (the rollout's defaults to the end of
    its phases' holds). PUT (editor, open cycle): both, validated as on the step
    page; `owner` a username of the system's team or null. A field left out
    is null."""

    permission_classes = [IsPerson]
    serializer_class = StepPlanSerializer

    def get(self, request, slug: str, number: int, step: str) -> Response:
        cycle, _ = get_cycle(request, slug, number, links=("rollout",))
        return Response(_show_plan(cycle, steps_plan.plan_of(cycle, _step(step))))

    def put(self, request, slug: str, number: int, step: str) -> Response:
        _step(step)
        # The JSON types first: the form would read "" as no date.
        StepPlanSerializer(data=request.data).is_valid(raise_exception=True)
        with transaction.atomic():
            cycle = locked_cycle(request, slug, number)
            plan = steps_plan.plan_of(cycle, step)
            form = bound_form(
                steps_plan.StepPlanForm, request.data, instance=plan, cycle=cycle
            )
            plan = steps_plan.plan_save(
                cycle=cycle, step=step, form=require_valid(form)
            )
        return Response(_show_plan(cycle, plan))


class OldestFirst(CursorPagination):
    ordering = ("created", "id")


@extend_schema(parameters=[STEP])
class StepCommentList(generics.ListCreateAPIView):
    """GET: the comments on the step, oldest first. POST (editor, open cycle):
    a comment; @username mentions a member of the system's team (other names
    stay text); 201 with the comment."""

    permission_classes = [IsPerson]
    serializer_class = CommentSerializer
    pagination_class = OldestFirst

    def get(self, request, slug: str, number: int, step: str) -> Response:
        cycle, _ = get_cycle(request, slug, number, links=False)
        comments = (
            Comment.objects.filter(cycle=cycle, step=_step(step))
            .select_related("author")
            .prefetch_related("mentions")
        )
        page = self.paginate_queryset(comments)
        assert page is not None  # the view is paginated
        return self.get_paginated_response([_show_comment(c) for c in page])

    def post(self, request, slug: str, number: int, step: str) -> Response:
        _step(step)
        with transaction.atomic():
            cycle = locked_cycle(request, slug, number)
            form = require_valid(bound_form(steps_plan.CommentForm, request.data))
            comment = steps_plan.comment_post(
                cycle=cycle, step=step, form=form, user=request.user
            )
        return Response(_show_comment(comment), status=201)


STEP_URL = "systems/<slug:slug>/cycles/<int:number>/steps/<slug:step>/"

urlpatterns = [
    path(STEP_URL, StepPlanDetail.as_view(), name="cycle-step"),
    path(f"{STEP_URL}comments/", StepCommentList.as_view(), name="cycle-step-comments"),
]
