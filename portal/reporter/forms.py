"""Forms of the follow-up pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from portal.forms import PortalForm


class ReceiptForm(PortalForm):
    receipt = StringField(
        _l("Your receipt code"),
        validators=[DataRequired(message=_l("Please enter your receipt code.")), Length(max=200)],
        description=_l("25 digits. Spaces and dashes do not matter."),
    )


class MessageForm(PortalForm):
    text = TextAreaField(
        _l("Your message"),
        validators=[DataRequired(message=_l("The message is empty.")), Length(max=50_000)],
    )


class ConsentForm(PortalForm):
    statistics = BooleanField(_l("My report may be counted, anonymized, in statistics for the Government of Canada."))
    referral = BooleanField(_l("My report may be passed to the RCMP or police with my identity."))
    contact = BooleanField(_l("The coalition may contact me."))


class DeleteForm(PortalForm):
    confirm = BooleanField(
        _l("I understand that my report, my files and all messages will be destroyed and cannot be recovered."),
        validators=[DataRequired(message=_l("Please tick the box to confirm."))],
    )
