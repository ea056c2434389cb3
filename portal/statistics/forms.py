"""The aggregate report form (a GET form: it changes nothing)."""

from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField
from wtforms.validators import DataRequired, NumberRange, ValidationError

from portal.forms import PortalForm, WholeNumberField


def _first_of_year() -> dt.date:
    return dt.date(dt.date.today().year, 1, 1)


class AggregateForm(PortalForm):
    class Meta:
        csrf = False

    since = DateField(_l("From"), default=_first_of_year, validators=[DataRequired(message=_l("Give a date."))])
    until = DateField(_l("Until"), default=dt.date.today, validators=[DataRequired(message=_l("Give a date."))])
    threshold = WholeNumberField(
        _l("Suppress counts below"), default=10,
        validators=[NumberRange(min=5, max=100, message=_l("Between 5 and 100; 10 is the default, 20 is suggested for public release."))],
    )
    rounding = BooleanField(_l("Round published counts randomly to a multiple of 5"))

    def validate_until(self, field) -> None:  # noqa: ANN001
        if self.since.data and field.data and field.data < self.since.data:
            raise ValidationError(_l("The end must not be before the start."))
