"""Body parsers of the auth endpoints: DRF's, with every malformed body a 400."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's ``JSONParser``, where JSON nested too deeply is a ``ParseError`` (400).

    Python's ``json`` raises ``RecursionError`` for nesting deeper than the
    interpreter's recursion limit (about 1,000 levels: 2 KB of ``[``), and DRF lets
    it through as a 500. An anonymous client must not be able to cause a 5xx.
    """

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None
