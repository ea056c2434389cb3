"""The report form (PRODUCT.md §2.1): every field, its limits, and messages people can act on."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    Field,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from portal import taxonomy
from portal.forms import PortalForm, coerce_id

NARRATIVE_MAX_CHARS = 50_000
SHORT_TEXT_MAX_CHARS = 500
LONG_TEXT_MAX_CHARS = 5_000
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PARTIAL_DATE = re.compile(r"^(\d{4})(?:[-/.](\d{1,2})(?:[-/.](\d{1,2}))?)?$")


def _choices(pairs: tuple[tuple[str, str], ...]) -> list[SelectChoice]:
    return [SelectChoice(code, _l(label)) for code, label in pairs]


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _too_long(limit: int) -> Length:
    return Length(max=limit, message=_l("Please keep this under %(max)d characters.", max=limit))


def parse_partial_date(text: str) -> tuple[str, dt.date]:
    """Parse ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` (any digits, ``-``, ``/`` or ``.``).

    Return the canonical text and the earliest day it can mean; raise ValueError otherwise.
    """
    match = _PARTIAL_DATE.match(unicodedata.normalize("NFKC", text).strip())
    if not match:
        raise ValueError(text)
    year = int(match.group(1))
    month = int(match.group(2)) if match.group(2) else None
    day = int(match.group(3)) if match.group(3) else None
    earliest = dt.date(year, month or 1, day or 1)  # raises ValueError for 2025-02-30
    if year < 1900:
        raise ValueError(text)
    if day is not None:
        return earliest.isoformat(), earliest
    if month is not None:
        return f"{year:04d}-{month:02d}", earliest
    return f"{year:04d}", earliest


class MultiCheckboxField(SelectMultipleField):
    """Several choices, each a checkbox; templates lay them out."""


class ReportForm(PortalForm):
    #: Set by the view when the evidence files together are too large (files are not a form field).
    evidence_error: str | None = None

    # What happened
    tactics = MultiCheckboxField(
        _l("What happened?"),
        choices=[SelectChoice(code) for code in taxonomy.TACTIC_CODES],
        validators=[DataRequired(message=_l("Please choose at least one. If you are not sure, choose “Something else, or I am not sure”."))],
    )
    narrative = TextAreaField(
        _l("Tell us what happened, in your own words"),
        filters=[_strip],
        validators=[
            DataRequired(message=_l("Please describe what happened.")),
            _too_long(NARRATIVE_MAX_CHARS),
        ],
    )

    # When
    when_precision = RadioField(
        _l("How well do you know when it happened?"),
        choices=_choices(taxonomy.DATE_PRECISIONS),
        default="unknown",
        validators=[InputRequired(message=_l("Please choose one."))],
    )
    when_start = StringField(
        _l("When (or when it started)"), filters=[_strip], validators=[_too_long(32)]
    )
    when_end = StringField(_l("When it ended"), filters=[_strip], validators=[_too_long(32)])

    # Where
    province = SelectField(
        _l("Province or territory"),
        choices=[SelectChoice("", _l("Choose…")), *_choices(taxonomy.PROVINCES)],
        default="",
        validators=[Optional()],
    )
    city = StringField(_l("City or town (optional)"), filters=[_strip], validators=[_too_long(200)])

    # Who was targeted
    target = RadioField(
        _l("Who was targeted?"), choices=_choices(taxonomy.TARGETS), validators=[Optional()]
    )
    communities = MultiCheckboxField(
        _l("Community"), choices=_choices(taxonomy.COMMUNITIES), validators=[Optional()]
    )
    community_other = StringField(
        _l("Other community"), filters=[_strip], validators=[_too_long(200)]
    )

    # Who did it
    perpetrators = MultiCheckboxField(
        _l("Who did it?"), choices=_choices(taxonomy.PERPETRATORS), validators=[Optional()]
    )
    perpetrator_details = TextAreaField(
        _l("Names or descriptions of the people involved"),
        filters=[_strip],
        validators=[_too_long(LONG_TEXT_MAX_CHARS)],
    )
    official_identified = StringField(
        _l("Any official you could identify (name, title, mission)"),
        filters=[_strip],
        validators=[_too_long(SHORT_TEXT_MAX_CHARS)],
    )

    # Bounty
    bounty = RadioField(
        _l("Was a bounty, arrest warrant or reward notice involved?"),
        choices=_choices(taxonomy.BOUNTY_ANSWERS),
        validators=[Optional()],
    )
    bounty_details = StringField(
        _l("Which one?"), filters=[_strip], validators=[_too_long(SHORT_TEXT_MAX_CHARS)]
    )

    # Impact
    impacts = MultiCheckboxField(
        _l("How has this affected you?"), choices=_choices(taxonomy.IMPACTS), validators=[Optional()]
    )
    impact_details = TextAreaField(
        _l("Anything else about the impact"),
        filters=[_strip],
        validators=[_too_long(LONG_TEXT_MAX_CHARS)],
    )

    # Already reported to
    reported_to = MultiCheckboxField(
        _l("Have you already reported this?"),
        choices=_choices(taxonomy.AUTHORITIES),
        validators=[Optional()],
    )
    reported_details = StringField(
        _l("To whom, and any file number"),
        filters=[_strip],
        validators=[_too_long(SHORT_TEXT_MAX_CHARS)],
    )

    # Who may read it
    organizations = MultiCheckboxField(
        _l("Which organizations may read your report?"),
        coerce=coerce_id,
        validators=[DataRequired(message=_l("Please choose at least one organization."))],
    )

    # Consent, each separately
    consent_read = BooleanField(
        _l("Staff of the organizations I chose may read my report."),
        validators=[DataRequired(message=_l("Without this, no one could read your report."))],
    )
    consent_statistics = BooleanField(
        _l("My report may be counted, anonymized, in statistics for the Government of Canada.")
    )
    consent_referral = BooleanField(
        _l("My report may be passed to the RCMP or police with my identity.")
    )
    consent_contact = BooleanField(_l("The coalition may contact me."))

    # Contact
    contact_method = RadioField(
        _l("How may we contact you?"),
        choices=_choices(taxonomy.CONTACT_METHODS),
        default="none",
        validators=[InputRequired(message=_l("Please choose one."))],
    )
    contact_details = StringField(
        _l("Email address, or phone or Signal number"),
        filters=[_strip],
        validators=[_too_long(254)],
    )

    def __init__(self, *args: Any, organizations: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organizations.choices = [SelectChoice(id_, name) for id_, name in organizations]

    # -- rules that span fields ----------------------------------------------------------------

    def validate_when_start(self, field: Field) -> None:
        precision = self.when_precision.data
        text = field.data or ""
        if not text:
            if precision in ("day", "month", "year", "range"):
                raise ValidationError(_l("Please give a date, for example 2025-10-14, 2025-10 or 2025."))
            return
        canonical, earliest = self._parse_date(text)
        needed = {"day": 3, "month": 2, "year": 1}.get(precision)
        if needed and len(canonical.split("-")) != needed:
            raise ValidationError(
                {
                    3: _l("Please give the full date, for example 2025-10-14."),
                    2: _l("Please give the year and month, for example 2025-10."),
                    1: _l("Please give the year, for example 2025."),
                }[needed]
            )
        field.data = canonical

    def validate_when_end(self, field: Field) -> None:
        text = field.data or ""
        if self.when_precision.data != "range":
            return
        if not text:
            raise ValidationError(_l("Please give the date it ended, or choose another option above."))
        canonical, end = self._parse_date(text)
        try:
            _, start = parse_partial_date(self.when_start.data or "")
        except ValueError:
            start = None
        if start is not None and end < start:
            raise ValidationError(_l("The end must not be before the start."))
        field.data = canonical

    @staticmethod
    def _parse_date(text: str) -> tuple[str, dt.date]:
        try:
            canonical, earliest = parse_partial_date(text)
        except ValueError:
            raise ValidationError(
                _l("Please write the date as year-month-day, for example 2025-10-14, 2025-10 or 2025.")
            ) from None
        if earliest > dt.date.today():
            raise ValidationError(_l("This date is in the future."))
        return canonical, earliest

    def validate_contact_details(self, field: Field) -> None:
        method = self.contact_method.data
        if method == "none":
            return
        if not field.data:
            raise ValidationError(_l("Please give the address or number, or choose “Don't contact me”."))
        if method == "email" and not _EMAIL.match(field.data):
            raise ValidationError(_l("This does not look like an email address."))

    def validate_consent_contact(self, field: Field) -> None:
        if self.contact_method.data in ("email", "phone") and not field.data:
            raise ValidationError(_l("To be contacted, please also tick this box."))

    def answers(self) -> dict[str, Any]:
        """Everything the reporter entered, for sealing; only call after validation succeeded."""
        skip = {"csrf_token"}
        return {name: field.data for name, field in self._fields.items() if name not in skip}
