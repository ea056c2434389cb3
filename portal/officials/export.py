"""A person's dossier as HTML and PDF, in the reader's language. Same dossier, same bytes."""

from __future__ import annotations

from flask import render_template
from flask_babel import gettext as _

from portal import pdf
from portal.officials import labels
from portal.officials.services import Dossier


def _entity_name(entity, lang: str) -> str:  # noqa: ANN001
    if entity is None:
        return "—"
    return entity.name_in(lang)


def render_html(dossier: Dossier, lang: str) -> bytes:
    return render_template("officials/dossier_export.html", dossier=dossier, lang=lang, labels=labels,
                           entity_name=_entity_name).encode("utf-8")


def render_pdf(dossier: Dossier, lang: str) -> bytes:
    person = dossier.person
    s = pdf.styles()
    title = _("Dossier: %(name)s", name=f"{person.name_latin} {person.name_chinese}".strip())
    story = [
        pdf.paragraph(title, s["title"]),
        pdf.paragraph(_("Version %(version)d of the record. Prepared by the Canadian Coalition on Human Rights in China.", version=dossier.version), s["small"]),
        pdf.paragraph(_("The person"), s["h2"]),
        pdf.table([
            [_("Names"), f"{person.name_latin} {person.name_chinese}".strip()],
            [_("Also known as"), ", ".join(person.aliases.splitlines()) or "—"],
            [_("Mission"), _entity_name(person.mission, lang)],
            [_("Title and rank"), " · ".join(x for x in (person.title, person.rank) if x) or "—"],
            [_("Status"), _(labels.STATUS[person.status])],
            [_("Affiliation"), _entity_name(person.affiliation, lang)],
            [_("Basis of the affiliation"), person.affiliation_basis or "—"],
        ], header=False),
        pdf.paragraph(_("Postings"), s["h2"]),
        pdf.table([[_("Mission"), _("Title"), _("From"), _("Until")]] + [
            [_entity_name(p.entity, lang), p.title or "—", str(p.start_date or "—"), str(p.end_date or "—")]
            for p in person.postings
        ]) if person.postings else pdf.paragraph(_("None recorded."), s["body"]),
        pdf.paragraph(_("Linked incidents"), s["h2"]),
        pdf.paragraph(_("%(count)d reported incidents are linked to this person.", count=dossier.linked_total), s["body"]),
    ]
    if dossier.by_tactic:
        story.append(pdf.table([[_("Tactic"), _("Incidents")]] + [[code, n] for code, n in dossier.by_tactic.items()]))
    if dossier.by_month:
        story += [pdf.Spacer(1, 6), pdf.table([[_("Month"), _("Incidents")]] + [[m, n] for m, n in dossier.by_month.items()])]
    story += [
        pdf.paragraph(_("Corroboration"), s["h2"]),
        pdf.table([[_("Attribution confidence"), _("Incidents")]] + [
            [_(labels.CONFIDENCE[k]), v] for k, v in sorted(dossier.by_confidence.items())
        ]),
        pdf.Spacer(1, 6),
        pdf.table([[_("Basis"), _("Incidents")]] + [[_(labels.BASIS[k]), v] for k, v in sorted(dossier.by_basis.items())]),
    ]
    if dossier.summaries:
        story += [
            pdf.paragraph(_("Incident summaries"), s["h2"]),
            pdf.paragraph(_("Only incidents whose reporters agreed to be counted for the Government of Canada are summarized; no reporter is named."), s["small"]),
            pdf.table([[_("Month"), _("Province"), _("Tactics"), _("Involvement"), _("Confidence")]] + [
                [x.month, x.province or "—", ", ".join(x.tactics) or "—", _(labels.INVOLVEMENT[x.involvement]), _(labels.CONFIDENCE[x.confidence])]
                for x in dossier.summaries
            ]),
        ]
    story += [pdf.paragraph(_("Public sources"), s["h2"])]
    story += [pdf.paragraph(f"{src.title} — {src.address} ({src.published_on or '—'})", s["body"]) for src in person.sources] or [
        pdf.paragraph(_("None recorded."), s["body"])
    ]
    story += [pdf.paragraph(_("Legal basis and requested action"), s["h2"])]
    story += [pdf.paragraph(_(labels.LEGAL_BASIS[ref]), s["body"]) for ref in dossier.legal_basis] or [
        pdf.paragraph(_("No diplomatic or consular status is recorded: sanctions are the available measure."), s["body"])
    ]
    if dossier.requested_action:
        story.append(pdf.paragraph(_("Requested action: %(action)s", action=_(labels.ACTION[dossier.requested_action])), s["body"]))
    return pdf.build(story, title=title)
