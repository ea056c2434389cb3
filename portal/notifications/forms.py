"""The staff member's notification settings form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

from portal.forms import PortalForm
from portal.web import LANGUAGES

DELIVERY_CHOICES = [
    SelectChoice("off", _l("No email. The counters on the Reports page show what is new.")),
    SelectChoice("daily", _l("One summary a day, for the day before (UTC), if anything happened.")),
    SelectChoice(
        "immediate",
        _l("An email each time. Your mail provider then learns, to the minute, when news arrived."),
    ),
]


class NotificationSettingsForm(PortalForm):
    delivery = RadioField(
        _l("Email me about new reports and reporters' replies"),
        choices=DELIVERY_CHOICES,
        validators=[InputRequired()],
    )
    language = RadioField(
        _l("Language of the emails"),
        choices=[SelectChoice(code, name) for code, name in LANGUAGES.items()],
        validators=[InputRequired()],
    )
