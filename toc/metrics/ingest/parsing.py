"""Reading a batch's body, and what a refused batch says."""

from __future__ import annotations

import json
from dataclasses import dataclass

import orjson
from django.conf import settings

from toc.lib.text import UNSTORABLE

MAX_SAMPLES = 5000
MAX_BODY_BYTES = settings.DATA_UPLOAD_MAX_MEMORY_SIZE


@dataclass(frozen=True, slots=True)
class FieldError:
    index: int | None
    field: str | None
    message: str

    def as_dict(self) -> dict:
        return {
            "index": self.index,
            "field": None if self.field is None else _shown(self.field),
            "message": _shown(self.message),
        }


def _shown(text: str) -> str:
    """The text, with NUL and unpaired surrogates written as JSON escapes: a
    field name sent with them is echoed in the error."""
    if not UNSTORABLE.search(text):
        return text
    return UNSTORABLE.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


class BatchInvalid(Exception):
    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(errors[0].message if errors else "invalid batch")
        self.errors = errors


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def parse_batch(body: bytes) -> list:
    """The list of sample objects in the body, or BatchInvalid saying what is wrong."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        # orjson, three times faster, is stricter than the standard parser;
        # what it refuses is read again by the latter, so that a field named
        # with a lone surrogate is still reported by name, and errors are worded
        # alike. Numbers past 64 bits come back as floats from orjson, which
        # the field checks accept or refuse just as the integers.
        try:
            payload = json.loads(body, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as error:
            raise BatchInvalid(
                [FieldError(None, None, f"Malformed JSON: {error}")]
            ) from None
    if not isinstance(payload, dict) or not isinstance(payload.get("samples"), list):
        raise BatchInvalid(
            [
                FieldError(
                    None, "samples", 'Send {"samples": [ ... ]}, a list of samples.'
                )
            ]
        )
    samples = payload["samples"]
    if not samples:
        raise BatchInvalid([FieldError(None, "samples", "The batch has no samples.")])
    if len(samples) > MAX_SAMPLES:
        raise BatchInvalid(
            [
                FieldError(
                    None,
                    "samples",
                    f"{len(samples)} samples in one batch; the limit is {MAX_SAMPLES}.",
                )
            ]
        )
    return samples
