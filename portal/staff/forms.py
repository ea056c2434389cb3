"""Staff forms."""

from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, NumberRange, Optional, ValidationError

from portal import taxonomy
from portal.forms import PortalForm, WholeNumberField, coerce_id, strip
from portal.inputs import LARGEST_ID
from portal.orgs.models import ROLES
from portal.reports.models import AGENCIES, CREDIBILITIES, SEVERITIES, STATUSES
from portal.reports.report_list import BadCursor, Cursor, DashboardFilters, sort_named

STATUS_LABELS = {
    "received": taxonomy.N_("Received"),
    "under_review": taxonomy.N_("Under review"),
    "referred": taxonomy.N_("Referred"),
    "closed": taxonomy.N_("Closed"),
}
SEVERITY_LABELS = {
    "low": taxonomy.N_("Low"),
    "medium": taxonomy.N_("Medium"),
    "high": taxonomy.N_("High"),
    "critical": taxonomy.N_("Critical"),
}
CREDIBILITY_LABELS = {
    "confirmed": taxonomy.N_("Confirmed"),
    "likely": taxonomy.N_("Likely"),
    "possible": taxonomy.N_("Possible"),
    "unlikely": taxonomy.N_("Unlikely"),
}
AGENCY_LABELS = {
    "rcmp": taxonomy.N_("RCMP"),
    "police": taxonomy.N_("Local police"),
    "csis": taxonomy.N_("CSIS"),
    "gac": taxonomy.N_("Global Affairs Canada"),
}
ROLE_LABELS = {
    "triager": taxonomy.N_("Triager"),
    "org_admin": taxonomy.N_("Organization administrator"),
    "coalition_admin": taxonomy.N_("Coalition administrator"),
    "analyst": taxonomy.N_("Analyst"),
}


def _choices(labels: dict[str, str], codes: tuple[str, ...], blank: str | None = None) -> list[SelectChoice]:
    choices = [SelectChoice("", _l(blank))] if blank else []
    return choices + [SelectChoice(code, _l(labels[code])) for code in codes]


def _pairs(pairs: tuple[tuple[str, str], ...], blank: str | None = None) -> list[SelectChoice]:
    choices = [SelectChoice("", _l(blank))] if blank else []
    return choices + [SelectChoice(code, _l(label)) for code, label in pairs]


class LoginForm(PortalForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])
    code = StringField(
        _l("Code from your authenticator app"),
        validators=[Optional(), Length(max=16)],
        description=_l("Leave it empty only the first time you sign in with a setup code from your administrator."),
    )


class EnrolForm(PortalForm):
    code = StringField(_l("Code from your authenticator app"), validators=[DataRequired(), Length(max=16)])


class PasswordForm(PortalForm):
    current_password = PasswordField(_l("Current password (or your setup code)"), validators=[DataRequired(), Length(max=1024)])
    new_password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(min=12, max=1024, message=_l("At least 12 characters."))],
        description=_l("At least 12 characters. A few unrelated words are easy to remember and hard to guess."),
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The two passwords differ."))],
    )


class StatusForm(PortalForm):
    status = SelectField(_l("Status"), choices=_choices(STATUS_LABELS, STATUSES))
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(message=_l("Please give a reason.")), Length(max=5000)])


class AssignForm(PortalForm):
    assignee = SelectField(_l("Assigned to"), choices=[], validate_choice=True)


class TriageForm(PortalForm):
    tactics = SelectMultipleField(_l("Tactics"), choices=[SelectChoice(code) for code in taxonomy.TACTIC_CODES])
    severity = SelectField(_l("Severity"), choices=_choices(SEVERITY_LABELS, SEVERITIES, taxonomy.N_("Not assessed")), default="")
    credibility = SelectField(_l("Credibility"), choices=_choices(CREDIBILITY_LABELS, CREDIBILITIES, taxonomy.N_("Not assessed")), default="")
    community = SelectField(_l("Community"), choices=_pairs(taxonomy.COMMUNITIES, taxonomy.N_("Unknown")), default="")
    province = SelectField(_l("Province or territory"), choices=_pairs(taxonomy.PROVINCES, taxonomy.N_("Unknown")), default="")
    month = StringField(_l("Month of the incident (YYYY-MM)"), filters=[strip], validators=[Optional(), Length(max=7)])
    perpetrator_type = SelectField(_l("Perpetrator type"), choices=_pairs(taxonomy.PERPETRATORS, taxonomy.N_("Unknown")), default="")
    duplicate_of = WholeNumberField(
        _l("Duplicate of report number"), validators=[Optional(), NumberRange(min=1, max=LARGEST_ID)]
    )

    def validate_month(self, field) -> None:  # noqa: ANN001
        if not field.data:
            return
        try:
            dt.date.fromisoformat(field.data + "-01")
        except ValueError:
            raise ValidationError(_l("Write the month as YYYY-MM, for example 2025-10.")) from None

    def month_date(self) -> dt.date | None:
        return dt.date.fromisoformat(self.month.data + "-01") if self.month.data else None


class NoteForm(PortalForm):
    text = TextAreaField(_l("New note"), validators=[DataRequired(message=_l("The note is empty.")), Length(max=20000)])


class ShareForm(PortalForm):
    organization = SelectField(_l("Share with"), choices=[], coerce=coerce_id)


class ReferralForm(PortalForm):
    agency = SelectField(_l("Agency"), choices=_choices(AGENCY_LABELS, AGENCIES))
    file_number = StringField(_l("File number"), validators=[Optional(), Length(max=200)])
    outcome = TextAreaField(_l("Outcome"), validators=[Optional(), Length(max=5000)])


class FilterForm(PortalForm):
    class Meta:
        csrf = False  # a GET search form changes nothing

    status = SelectField(_l("Status"), choices=_choices(STATUS_LABELS, STATUSES, taxonomy.N_("Any")), validators=[Optional()])
    tactic = SelectField(_l("Tactic"), choices=[SelectChoice("", _l("Any")), *[SelectChoice(c) for c in taxonomy.TACTIC_CODES]], validators=[Optional()])
    community = SelectField(_l("Community"), choices=_pairs(taxonomy.COMMUNITIES, taxonomy.N_("Any")), validators=[Optional()])
    province = SelectField(_l("Province"), choices=_pairs(taxonomy.PROVINCES, taxonomy.N_("Any")), validators=[Optional()])
    since = DateField(_l("Received from"), validators=[Optional()])
    until = DateField(_l("Received until"), validators=[Optional()])
    assignee = SelectField(_l("Assigned to"), choices=[], validators=[Optional()])
    bounty = BooleanField(_l("Bounty-related only"))
    official = StringField(
        _l("Linked to an official"), validators=[Optional(), Length(max=200)],
        description=_l("A name or part of one, in Latin or Chinese script."),
    )
    campaign = SelectField(_l("Campaign"), choices=[], validators=[Optional()])
    sort = SelectField(
        _l("Sort"),
        choices=[
            SelectChoice("newest", _l("Newest first")),
            SelectChoice("oldest", _l("Oldest first")),
            SelectChoice("status", _l("Status")),
            SelectChoice("severity", _l("Severity")),
        ],
        validators=[Optional()],
    )
    # Set by the page links, never typed: where the page starts (after) or ends (before).
    after = StringField(filters=[strip], validators=[Optional()])
    before = StringField(filters=[strip], validators=[Optional()])

    def validate_after(self, field) -> None:  # noqa: ANN001
        self._parse_cursor(field)

    def validate_before(self, field) -> None:  # noqa: ANN001
        self._parse_cursor(field)

    def _chosen_sort(self) -> str | None:
        return self.sort.data if not self.sort.errors else None

    def _parse_cursor(self, field) -> Cursor | None:  # noqa: ANN001
        if not field.data:
            return None
        try:
            return sort_named(self._chosen_sort()).parse(field.data)
        except BadCursor:
            raise ValidationError(_l("That page link is not valid, so here is the first page.")) from None

    @property
    def bad_cursor(self) -> bool:
        return bool(self.after.errors or self.before.errors)

    def filters(self, within: tuple = ()) -> DashboardFilters:
        valid = {name: (field.data if not field.errors else None) for name, field in self._fields.items()}
        after = self._parse_cursor(self.after) if not self.bad_cursor else None
        before = self._parse_cursor(self.before) if not self.bad_cursor else None
        return DashboardFilters(
            status=valid["status"] or None,
            tactic=valid["tactic"] or None,
            community=valid["community"] or None,
            province=valid["province"] or None,
            since=valid["since"],
            until=valid["until"],
            assignee=valid["assignee"] or None,
            bounty=bool(valid["bounty"]),
            within=within,
            sort=self._chosen_sort() or "newest",
            after=after,
            before=before,
        )


class InviteForm(PortalForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    role = RadioField(_l("Role"), choices=_choices(ROLE_LABELS, ROLES), default="triager")


class OrganizationForm(PortalForm):
    slug = StringField(_l("Short name (letters, digits, dashes)"), validators=[DataRequired(), Length(max=64)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    default_recipient = BooleanField(_l("Pre-select on the report form (intake team)"))


class AuditFilterForm(PortalForm):
    class Meta:
        csrf = False

    action = SelectField(_l("Action"), choices=[], validators=[Optional()])
    actor = WholeNumberField(_l("Staff member number"), validators=[Optional(), NumberRange(min=1, max=LARGEST_ID)])
    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("Until"), validators=[Optional()])
    page = WholeNumberField(validators=[Optional(), NumberRange(min=1, max=100000)])


class ReplyForm(PortalForm):
    text = TextAreaField(
        _l("Reply to the reporter"),
        validators=[DataRequired(message=_l("The message is empty.")), Length(max=50_000)],
        description=_l("The reporter reads it with their receipt code. Never include anything that would put them at risk if someone else had their code."),
    )


class DeleteReportForm(PortalForm):
    confirm = BooleanField(
        _l("Destroy this report, its files, messages and notes for good"),
        validators=[DataRequired(message=_l("Please tick the box to confirm."))],
    )
