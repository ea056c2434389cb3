"""What every form shares: where its values come from, and values no field may hold.

Every form of the portal derives from :class:`PortalForm` (a test keeps it so), so each rule here
holds for every field at once, whatever the field:

- Values come from the form text only. A field sent as a file part (a multipart part with a
  filename) is missing, not a file object handed to code that expects text; a JSON body is not a
  form at all. Evidence files are read from ``request.files`` by the views that take them.
- Whitespace-only text is empty text. ``Optional()`` already treats it as empty, but it stops the
  checks (even a choice field's check of its choices) and leaves the whitespace in ``data``, for
  the view to trip over.
- No value may contain NUL: PostgreSQL text cannot hold it, and no one types it. The field gets a
  translated error and the form comes back with everything else kept.
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.form import _Auto, _is_submitted
from werkzeug.datastructures import MultiDict
from wtforms import IntegerField

from portal import inputs

NUL_MESSAGE = _l("This contains an invisible control character (NUL) that cannot be saved. Please remove it.")


class PortalForm(FlaskForm):
    class Meta(FlaskForm.Meta):
        def wrap_formdata(self, form: Any, formdata: Any) -> Any:
            if formdata is _Auto:
                submitted = _is_submitted() and (request.form or request.files)
                formdata = request.form if submitted else None
            return _blank_as_empty(formdata)

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            if any(isinstance(value, str) and "\x00" in value for value in field.raw_data or ()):
                field.errors.append(NUL_MESSAGE)
                valid = False
        return valid


def _blank_as_empty(formdata: Any) -> Any:
    if formdata is None or not hasattr(formdata, "getlist"):
        return formdata
    pairs = list(formdata.items(multi=True)) if hasattr(formdata, "items") else []
    if not any(isinstance(value, str) and value and not value.strip() for _name, value in pairs):
        return formdata
    return MultiDict([(name, "" if isinstance(value, str) and not value.strip() else value) for name, value in pairs])


class WholeNumberField(IntegerField):
    """A number typed in ASCII digits; ``int()`` alone would also take ``٣``, ``+1`` or `` 1_000 ``.

    Bounds are the field's validators (NumberRange), as for any IntegerField.
    """

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        text = valuelist[0].strip() if isinstance(valuelist[0], str) else None
        # No bound of its own: the field's NumberRange says which numbers are allowed.
        self.data = inputs.parse_int(text, 0, 10**inputs.MAX_DIGITS)
        if self.data is None:
            raise ValueError(self.invalid_value_message or _("Please write a whole number, in the digits 0 to 9."))


def strip(value: Any) -> Any:
    """A filter: text without surrounding whitespace, so that blank text is empty text.

    ``Optional()`` lets whitespace-only text through as if empty but leaves it in ``data``; a field
    whose value is parsed after validation must not see it.
    """
    return value.strip() if isinstance(value, str) else value


def coerce_id(value: Any) -> int:
    """``coerce=`` for a choice of records: their id, in ASCII digits, or 'Not a valid choice'."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    number = inputs.parse_id(value)
    if number is None:
        raise ValueError("not an id")
    return number
