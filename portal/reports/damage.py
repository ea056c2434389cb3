"""What a page shows in place of a sealed value that fails to open.

Ciphertext damaged or altered in the database fails authentication when opened
(:class:`portal.crypto.CryptoError`). One such value must not take a whole page down with it: the
page shows everything else and marks, in the reader's language, each value it could not decrypt.
Downloads are different: a damaged file is refused whole (see ``attachments.verify``).

The server log says which kind of record failed, never which one or what it held.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask_babel import gettext as _
from markupsafe import Markup

from portal import crypto
from portal.reports import attachments
from portal.reports.models import Attachment, Report
from portal.reports.services import read_answers

log = logging.getLogger(__name__)


class Damaged(str):
    """Text that could not be decrypted: the translated mark, in a page marked up as such."""

    def __new__(cls) -> Damaged:
        return super().__new__(cls, _("Damaged: this could not be decrypted."))

    def __html__(self) -> Markup:
        return Markup('<strong class="damaged">{}</strong>').format(str(self))


def is_damaged(value: object) -> bool:
    return isinstance(value, Damaged)


def open_text(key: crypto.ContentKey, sealed: bytes, purpose: bytes, what: str) -> str:
    """Sealed text, or the damaged mark if it does not open."""
    try:
        return crypto.open_sealed(key, sealed, purpose).decode("utf-8")
    except (crypto.CryptoError, UnicodeDecodeError):
        log.error("a sealed %s failed to open", what)
        return Damaged()


def open_json(key: crypto.ContentKey, sealed: bytes, purpose: bytes, what: str) -> Any | None:
    """A sealed JSON record, or None if it does not open."""
    try:
        return json.loads(crypto.open_sealed(key, sealed, purpose))
    except (crypto.CryptoError, ValueError):
        log.error("a sealed %s failed to open", what)
        return None


class DamagedAnswers(dict):
    """A report's answers that did not open: the account marked as damaged, every other answer
    empty (a missing answer reads as None, as an unanswered one does)."""

    def __missing__(self, key: str) -> None:
        return None


def readable_answers(report: Report, key: crypto.ContentKey) -> dict[str, Any]:
    """What the reporter typed, or DamagedAnswers if it does not open."""
    try:
        return read_answers(report, key)
    except (crypto.CryptoError, ValueError):
        log.error("a report's sealed answers failed to open")
        return DamagedAnswers(narrative=Damaged(), when_precision=Damaged(), contact_method=Damaged())


def attachment_details(attachment: Attachment, key: crypto.ContentKey) -> attachments.AttachmentDetails:
    """A file's name, type, size and hash for a page, each marked if they do not open."""
    try:
        return attachments.read_details(attachment, key)
    except (crypto.CryptoError, ValueError, TypeError):
        log.error("a sealed attachment's details failed to open")
        return attachments.AttachmentDetails(
            name=Damaged(), content_type="application/octet-stream", sha256=Damaged(), size=0
        )
