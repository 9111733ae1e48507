from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from toc.accounts.models import Membership, Role, Team
from toc.systems.models import Stage, System


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "password")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs) -> None:
        if create:
            obj.save()


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    team = factory.SubFactory(TeamFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.VIEWER


class SystemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = System

    team = factory.SubFactory(TeamFactory)
    name = factory.Sequence(lambda n: f"System {n}")
    slug = factory.Sequence(lambda n: f"sys-{n}")


class StageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Stage

    system = factory.SubFactory(SystemFactory)
    name = factory.Sequence(lambda n: f"Stage {n}")
    slug = factory.Sequence(lambda n: f"stage-{n}")
    position = factory.LazyAttribute(lambda stage: stage.system.next_stage_position())
