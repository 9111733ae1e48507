from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.forms import UserCreationForm

from toc.accounts.models import Membership, Role, Team


class TeamForm(forms.ModelForm):
    class Meta:
        model = Team
        fields = ["name", "slug"]
        help_texts = {"slug": "Lowercase letters, digits and hyphens; used in the API."}
        error_messages = {
            "slug": {"unique": "This slug is taken by another team; choose another."}
        }


class MemberAddForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)

    def __init__(self, *args, team: Team, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.team = team

    def clean_username(self) -> object:
        username = self.cleaned_data["username"].strip()
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise forms.ValidationError(f"There is no user “{username}”.")
        if Membership.objects.filter(team=self.team, user=user).exists():
            raise forms.ValidationError(f"{username} is already in this team.")
        return user


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class SecretNameForm(forms.Form):
    """Names a new ingest key or API token, so that it can be told apart later."""

    name = forms.CharField(
        max_length=100, help_text="Where it will be used, e.g. “prod pipeline”."
    )


class InvitationForm(forms.Form):
    email = forms.EmailField(
        max_length=254, help_text="The link is mailed there, and shown to you once."
    )
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)

    def __init__(self, *args, team: Team, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.team = team

    def clean_email(self) -> str:
        email = self.cleaned_data["email"]
        member = Membership.objects.filter(
            team=self.team, user__email__iexact=email
        ).first()
        if member is not None:
            raise forms.ValidationError(
                f"{email} is already in this team as {member.user.username}."
            )
        return email


class JoinForm(UserCreationForm):
    """A new account, made from an invitation (Django's rules for its name and
    password)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["password1"].help_text = " ".join(
            password_validation.password_validators_help_texts()
        )
