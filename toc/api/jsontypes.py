"""A JSON value must have its field's JSON type, as the schema documents it.

Django's forms and DRF's fields were made for form posts, where everything is
text, so they coerce: `{}` becomes "", `[null]` the text "[None]", `false` the
number 0 and "1.5" a number. The API says what type each field takes, and
holds clients to it; a number too large for a float is refused here too,
where the fields themselves would fail with OverflowError (a 500).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeGuard

from django import forms
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

NUMBER = "Send a number."
TEXT = "Send text (a JSON string)."
WHOLE = "Send a whole number."
BOOLEAN = "Send true or false."
OBJECT = "Send a JSON object."
LIST = "Send a list."


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _whole(value: object) -> bool:
    if isinstance(value, float):
        return value.is_integer()
    # A JSON integer may be too large for a float; the field's range refuses it.
    return isinstance(value, int) and not isinstance(value, bool)


def _float_message(value: object) -> str | None:
    if not _is_number(value):
        return NUMBER
    try:
        float(value)
    except OverflowError:
        return "The number is too large."
    return None


def _form_field_message(field: forms.Field, value: object) -> str | None:
    if isinstance(field, forms.JSONField):
        return None
    if value is None:
        # Null is empty where empty is stored as null (a number, a time, a link
        # to another row). Text and choices stored as "" when empty are not
        # nullable, nor are lists (empty is []) or a checkbox (true or false).
        if isinstance(field, forms.MultipleChoiceField):
            return LIST
        if isinstance(field, forms.ModelChoiceField):
            return None
        if isinstance(field, forms.CharField | forms.ChoiceField):
            return None if getattr(field, "empty_value", "") is None else TEXT
        if type(field) is forms.BooleanField:
            return BOOLEAN
        return None  # the field says whether it may be empty
    if isinstance(field, forms.BooleanField | forms.NullBooleanField):
        return None if isinstance(value, bool) else BOOLEAN
    # FloatField and DecimalField are IntegerFields in Django; ask them first.
    if isinstance(field, forms.FloatField):
        return _float_message(value)
    if isinstance(field, forms.DecimalField):
        return None if isinstance(value, str) else _float_message(value)
    if isinstance(field, forms.IntegerField):
        return None if _whole(value) else WHOLE
    if isinstance(field, forms.MultipleChoiceField):
        return None if isinstance(value, list) else LIST
    if isinstance(field, forms.ModelChoiceField | forms.ChoiceField):
        return None if isinstance(value, str) or _is_number(value) else TEXT
    if isinstance(
        field, forms.CharField | forms.DateField | forms.DateTimeField | forms.TimeField
    ):
        return None if isinstance(value, str) else TEXT
    return None


def form_type_errors[F: forms.Form | forms.ModelForm](
    form_class: type[F], body: dict
) -> dict:
    """{field: [message]} for each value of the wrong JSON type."""
    errors = {}
    for name, value in body.items():
        field = form_class.base_fields.get(name)
        message = field and _form_field_message(field, value)
        if message:
            errors[name] = [message]
    return errors


def _serializer_field_message(field: serializers.Field, value: object) -> str | None:
    if value is None:
        return None  # the field says whether it may be null
    if isinstance(field, serializers.BooleanField):
        return None if isinstance(value, bool) else BOOLEAN
    if isinstance(field, serializers.IntegerField):
        return None if _whole(value) else WHOLE
    if isinstance(field, serializers.FloatField):
        return _float_message(value)
    if isinstance(field, serializers.DecimalField):
        return None if isinstance(value, str) else _float_message(value)
    if isinstance(field, serializers.ListSerializer | serializers.ListField):
        return None if isinstance(value, list) else LIST
    if isinstance(field, serializers.BaseSerializer):
        return None if isinstance(value, dict) else OBJECT
    if isinstance(field, serializers.ChoiceField):
        return None if isinstance(value, str) or _is_number(value) else TEXT
    if isinstance(
        field,
        serializers.CharField
        | serializers.DateTimeField
        | serializers.DateField
        | serializers.SlugRelatedField,
    ):
        return None if isinstance(value, str) else TEXT
    return None


# What JsonTyped is mixed into, as the type checker reads it; at run time the
# mixin adds nothing of its own to the serializer's bases.
if TYPE_CHECKING:
    _Serializer = serializers.Serializer
else:
    _Serializer = object


class JsonTyped(_Serializer):
    """Mix into a DRF serializer: each value must have its field's JSON type.

    Nested serializers that mix it in check their own items the same way.
    """

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise ValidationError({"non_field_errors": [OBJECT]})
        errors = {}
        for name, field in self.fields.items():
            if field.read_only or field.field_name not in data:
                continue
            message = _serializer_field_message(field, data[field.field_name])
            if message:
                errors[name] = [message]
        if errors:
            raise ValidationError(errors)
        return super().to_internal_value(data)
