"""The API reads JSON (and, for OpenSLO documents, YAML), and only what
PostgreSQL can store.

Python's json module accepts what the database then refuses (NUL characters,
unpaired surrogates such as "\\ud800"), which would surface as a 500 on save;
they are refused here, before any view sees them. Bodies over the size limit
never get this far (toc.api.middleware).
"""

from __future__ import annotations

from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser, JSONParser

from toc.lib.text import UNSTORABLE


def unstorable_text(value: object, path: str = "") -> str | None:
    """Where in a parsed JSON document text holds NUL or an unpaired surrogate."""
    if isinstance(value, str):
        return (path or "the body") if UNSTORABLE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if UNSTORABLE.search(key):
                return f"a name in {path or 'the body'}"
            if found := unstorable_text(item, f"{path}.{key}" if path else key):
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if found := unstorable_text(item, f"{path}[{index}]"):
                return found
    return None


class StrictJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
            where = unstorable_text(data)
        except RecursionError:
            raise ParseError("The JSON is nested too deeply.") from None
        if where:
            raise ParseError(
                f"Text at {where} holds a NUL character or an unpaired "
                "surrogate; send UTF-8 text without them."
            )
        return data


class YamlParser(BaseParser):
    """A YAML body as text, for the views that read YAML documents themselves
    (OpenSLO); what PostgreSQL cannot store is refused after reading."""

    media_type = "application/yaml"

    # request.data is whatever a parser returns; the stubs allow only mappings.
    def parse(self, stream, media_type=None, parser_context=None) -> str:  # type: ignore[override]
        try:
            return stream.read().decode("utf-8")
        except UnicodeDecodeError:
            raise ParseError("The body is not UTF-8 text.") from None


# The other names YAML goes by.
class XYamlParser(YamlParser):
    media_type = "application/x-yaml"


class TextYamlParser(YamlParser):
    media_type = "text/yaml"


YAML_PARSERS = [YamlParser, XYamlParser, TextYamlParser]
