"""Names and slugs that must be unique, when two requests want the same one.

A form checks that a name is free, but another request may take it between that
check and this one's write; the database's unique constraint then refuses the
write. Validated again, the form sees the other row and says what it always
says about a taken name, so the person (or script) gets a field error, not a 500.
"""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.db import IntegrityError, transaction


def saved[T](form: forms.BaseForm, write: Callable[[], T]) -> T | None:
    """What `write` returns, if `form` is valid and the database takes the write.

    Otherwise None, and the form holds the errors, a name taken meanwhile
    included. A refusal the form cannot explain (not a taken name) is raised.
    """
    if not form.is_valid():
        return None
    try:
        # A savepoint: the caller's transaction, if any, goes on after a refusal.
        with transaction.atomic():
            return write()
    except IntegrityError:
        form.full_clean()
        if form.is_valid():
            raise
        return None
