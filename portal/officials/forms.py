"""Registry forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from portal.forms import PortalForm
from portal.officials import labels
from portal.officials.models import ACTIONS, BASES, CONFIDENCES, INVOLVEMENTS, STATUSES


def _choices(table: dict[str, str], codes: tuple[str, ...], blank: object = None) -> list[SelectChoice]:
    return ([SelectChoice("", blank)] if blank else []) + [SelectChoice(code, _l(table[code])) for code in codes]


class PersonForm(PortalForm):
    # No Optional(): it would stop validate_name_latin from running on an empty field.
    name_latin = StringField(_l("Name in Latin script"), validators=[Length(max=200)])
    name_chinese = StringField(_l("Name in Chinese characters"), validators=[Optional(), Length(max=200)])
    aliases = TextAreaField(_l("Other names and spellings, one per line"), validators=[Optional(), Length(max=2000)])
    mission_id = SelectField(_l("Mission"), choices=[], validators=[Optional()])
    title = StringField(_l("Title"), validators=[Optional(), Length(max=200)])
    rank = StringField(_l("Rank"), validators=[Optional(), Length(max=100)])
    status = SelectField(_l("Status"), choices=_choices(labels.STATUS, STATUSES), default="unknown")
    affiliation_id = SelectField(_l("Affiliation"), choices=[], validators=[Optional()])
    affiliation_basis = TextAreaField(_l("Basis of the affiliation"), validators=[Optional(), Length(max=5000)])
    requested_action = SelectField(_l("Requested action"), choices=_choices(labels.ACTION, ACTIONS, _l("Not decided")), default="")


    def validate_name_latin(self, field) -> None:  # noqa: ANN001
        if not (field.data or "").strip() and not (self.name_chinese.data or "").strip():
            raise ValidationError(_l("Give a name in Latin or in Chinese script."))


class PostingForm(PortalForm):
    entity_id = SelectField(_l("Mission"), choices=[])
    title = StringField(_l("Title"), validators=[Optional(), Length(max=200)])
    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("Until"), validators=[Optional()])


class SourceForm(PortalForm):
    title = StringField(_l("Source title"), validators=[DataRequired(), Length(max=300)])
    address = StringField(_l("Address (URL)"), validators=[Optional(), Length(max=500)])
    published_on = DateField(_l("Published on"), validators=[Optional()])


class LinkForm(PortalForm):
    # The people a registry search found, as radio buttons: the registry is never listed whole.
    person_id = RadioField(_l("Person"), choices=[], validators=[Optional()])
    entity_id = SelectField(_l("or entity"), choices=[], validators=[Optional()])
    involvement = SelectField(_l("Degree of involvement"), choices=_choices(labels.INVOLVEMENT, INVOLVEMENTS))
    confidence = SelectField(_l("Attribution confidence"), choices=_choices(labels.CONFIDENCE, CONFIDENCES))
    basis = SelectField(_l("Basis"), choices=_choices(labels.BASIS, BASES))
