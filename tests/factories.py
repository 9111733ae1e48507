from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from toc.accounts.models import ApiToken, Invitation, Membership, Role, Team
from toc.systems.models import IngestKey, Stage, System
from toc.systems.services import standard_slos_create


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
        skip_postgeneration_save = True

    team = factory.SubFactory(TeamFactory)
    name = factory.Sequence(lambda n: f"System {n}")
    slug = factory.Sequence(lambda n: f"sys-{n}")

    @factory.post_generation
    def slos(system, create, extracted, **kwargs) -> None:
        """The five standard SLOs, as services.system_create makes them;
        `slos=False` leaves them out."""
        if create and extracted is not False:
            standard_slos_create(system)


class StageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Stage

    system = factory.SubFactory(SystemFactory)
    name = factory.Sequence(lambda n: f"Stage {n}")
    slug = factory.Sequence(lambda n: f"stage-{n}")
    position = factory.LazyAttribute(lambda stage: stage.system.next_stage_position())


class ApiTokenFactory(factory.django.DjangoModelFactory):
    """A personal API token, made the way the app makes one (only its digest is
    stored); the secret a client sends is on `.plaintext`."""

    class Meta:
        model = ApiToken

    user = factory.SubFactory(UserFactory)
    name = "token"
    expiry = None  # as the app's tokens: they never expire on their own

    @classmethod
    def _create(cls, model_class: type[ApiToken], *args, **kwargs) -> ApiToken:
        token, plaintext = model_class.objects.create(*args, **kwargs)
        token.plaintext = plaintext
        return token


class IngestKeyFactory(factory.django.DjangoModelFactory):
    """An ingest key issued as the app issues one; the secret a pipeline sends is
    on `.plaintext`."""

    class Meta:
        model = IngestKey

    system = factory.SubFactory(SystemFactory)
    name = "pipeline"
    created_by = None

    @classmethod
    def _create(cls, model_class: type[IngestKey], *args, **kwargs) -> IngestKey:
        key, plaintext = model_class.issue(**kwargs)
        key.plaintext = plaintext
        return key


class InvitationFactory(factory.django.DjangoModelFactory):
    """An invitation issued as the app issues one (only its digest is stored);
    the secret of its link is on `.plaintext`, its path on `.path`."""

    class Meta:
        model = Invitation

    team = factory.SubFactory(TeamFactory)
    email = factory.Sequence(lambda n: f"invitee{n}@example.com")
    role = Role.VIEWER

    @classmethod
    def _create(cls, model_class: type[Invitation], *args, **kwargs) -> Invitation:
        invitation, plaintext = model_class.issue(**kwargs)
        invitation.plaintext = plaintext
        invitation.path = f"/invitations/{plaintext}/"
        return invitation
