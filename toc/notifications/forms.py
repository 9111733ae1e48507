from __future__ import annotations

import apprise
from django import forms
from django.core.validators import URLValidator

from toc.notifications.channels import private_address
from toc.notifications.models import OFFERED

# A team has this many webhooks and chat channels at most, each; a script
# adding one a second would otherwise make every event fan out endlessly.
MAX_PER_TEAM = 20


def events_field(*, required: bool, help_text: str) -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        choices=OFFERED,
        widget=forms.CheckboxSelectMultiple,
        required=required,
        help_text=help_text,
        error_messages={
            "required": "Choose at least one event.",
            "invalid_choice": (
                "“%(value)s” is not an event you can choose; choose among "
                + ", ".join(value for value, _ in OFFERED)
                + "."
            ),
        },
    )


class WebhookForm(forms.Form):
    url = forms.URLField(
        label="URL",
        max_length=500,
        # http and https only: no file:, ftp: or other scheme urllib would open.
        validators=[URLValidator(schemes=["http", "https"])],
        assume_scheme="https",
        help_text="toc POSTs each event there as JSON, signed with the secret.",
        error_messages={"invalid": "Enter an http:// or https:// URL."},
    )
    events = events_field(required=True, help_text="The events sent to it.")

    def __init__(self, *args, team, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.team = team

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        refused = private_address(url)
        if refused:
            raise forms.ValidationError(refused)
        return url

    def clean(self) -> dict:
        if self.team.webhooks.count() >= MAX_PER_TEAM:
            raise forms.ValidationError(
                f"This team has {MAX_PER_TEAM} webhooks; remove one first."
            )
        return self.cleaned_data


class ChatChannelForm(forms.Form):
    url = forms.CharField(
        label="Apprise URL",
        max_length=500,
        help_text=(
            "The chat service as apprise names it, e.g. slack://TokenA/TokenB/TokenC "
            "or msteams://…; see the apprise wiki for each service."
        ),
    )
    events = events_field(required=True, help_text="The events told there.")

    def __init__(self, *args, team, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.team = team

    def clean_url(self) -> str:
        url = self.cleaned_data["url"].strip()
        service = apprise.Apprise.instantiate(url)
        if service is None:
            raise forms.ValidationError(
                "apprise does not know this URL; check the service's prefix "
                "(slack://, msteams://, matrix://, json://…) and its parts."
            )
        # Shown on the page with its tokens masked, without apprise's options.
        self.shown = service.url(privacy=True).split("?")[0]
        return url

    def clean(self) -> dict:
        if self.team.chat_channels.count() >= MAX_PER_TEAM:
            raise forms.ValidationError(
                f"This team has {MAX_PER_TEAM} chat channels; remove one first."
            )
        return self.cleaned_data


class EmailChoiceForm(forms.Form):
    events = events_field(required=False, help_text="")
