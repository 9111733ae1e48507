"""Secrets toc must use again later (a webhook's signing secret, a chat
service's URL with its token), sealed at rest.

An ingest key or an API token is only compared, so toc keeps a digest of it.
A signing secret is used to sign every delivery, so toc must be able to read
it back: it is stored encrypted (Fernet) with a key derived from SECRET_KEY.
A copy of the database alone does not give the secrets away; a copy of the
database and the settings does. Rotating SECRET_KEY keeps them readable as
long as the old key stays in SECRET_KEY_FALLBACKS.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.utils.crypto import salted_hmac

# Names what the derived key is for, so it is no other use's key.
SALT = "toc.notifications.sealed"


def _fernet() -> MultiFernet:
    keys = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return MultiFernet(
        [
            Fernet(
                base64.urlsafe_b64encode(
                    salted_hmac(SALT, "fernet", secret=key, algorithm="sha256").digest()
                )
            )
            for key in keys
        ]
    )


def seal(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def unseal(token: str) -> str:
    """The plaintext; raises Unreadable when no key of the settings opens it."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise Unreadable(
            "This secret was sealed with a SECRET_KEY that is no longer in the "
            "settings (SECRET_KEY or SECRET_KEY_FALLBACKS)."
        ) from None


class Unreadable(Exception):
    pass
