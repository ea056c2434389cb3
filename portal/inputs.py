"""Numbers and names from a request, parsed once into bounded values.

A request can carry anything: ``99999999999999999999`` (too large for any database integer:
SQLite raises OverflowError), ``²`` (``str.isdigit()`` says yes, ``int()`` says no), ``٣``
(``int()`` reads 3), ``+1``, `` 1_000 ``, NUL. Every identifier or count that comes from a path,
a query string or a form goes through here (or through the form fields built on it in
:mod:`portal.forms`): ASCII digits only, within bounds, or nothing.
"""

from __future__ import annotations

import re

from werkzeug.routing import BaseConverter, ValidationError

#: Every id column is a 32-bit INTEGER on PostgreSQL (``portal.db.intpk``): a larger number
#: names nothing, and must not reach a query.
LARGEST_ID = 2**31 - 1

#: Enough digits for any bound used here; longer text is refused before int() sees it.
MAX_DIGITS = 18
_DIGITS = re.compile(rf"[0-9]{{1,{MAX_DIGITS}}}")


def parse_int(text: object, low: int, high: int) -> int | None:
    """The whole number ``text`` spells in ASCII digits, if it lies in [low, high]; else None."""
    if not isinstance(text, str) or not _DIGITS.fullmatch(text):
        return None
    number = int(text)
    return number if low <= number <= high else None


def parse_id(text: object) -> int | None:
    """A record's id as a request gives it, or None if it cannot be one."""
    return parse_int(text, 1, LARGEST_ID)


def parse_ids(values: list[str]) -> set[int]:
    """The ids among several submitted values (checkboxes); anything else is left out."""
    return {number for number in map(parse_id, values) if number is not None}


class IdConverter(BaseConverter):
    """``<id:name>`` in a route: 1 to LARGEST_ID in ASCII digits, no sign, no leading zero.

    Anything else does not match the route, so it is a 404 before the view runs.
    """

    regex = rf"[1-9][0-9]{{0,{MAX_DIGITS - 1}}}"
    part_isolating = True

    def to_python(self, value: str) -> int:
        number = parse_id(value)
        if number is None:
            raise ValidationError()
        return number

    def to_url(self, value: object) -> str:
        return str(int(value))  # type: ignore[call-overload]


class SlugConverter(BaseConverter):
    """``<slug:name>``: the lowercase letters, digits and dashes a campaign's slug is made of."""

    regex = r"[a-z0-9][a-z0-9-]{0,63}"
    part_isolating = True
