"""A reporter's return with the receipt, evidence files and deletion; with the helpers they share.

Files are sent as multipart bodies built here, in memory: Werkzeug's test client would spool a
large body to a temporary file itself, and the tests that look for plaintext on disk must only
find what the portal wrote.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Iterable, Sequence

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal import crypto
from portal.db import db
from portal.orgs.models import Organization
from portal.reports.models import Attachment, Report
from tests.conftest import hidden_value, open_report_form, receipt_from, valid_report

#: What the follow-up form says to a wrong, mistyped or deleted receipt alike.
NOT_RECOGNISED = "No report opens with this receipt code. Please check it and try again."

#: (file name, bytes, content type) of one evidence file.
Upload = tuple[str, bytes, str]


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def intake_id() -> int:
    return db.session.scalar(select(Organization.id).where(Organization.slug == "intake"))


def multipart(
    fields: dict[str, object], files: Sequence[Upload] = (), field: str = "evidence"
) -> tuple[bytes, str]:
    """Encode form fields and evidence files as a browser would; return the body and its type."""
    boundary = f"----portaltest{secrets.token_hex(16)}"
    parts: list[bytes] = []
    for name, value in fields.items():
        for item in value if isinstance(value, list | tuple) else [value]:
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{item}\r\n'.encode()
            )
    for filename, data, content_type in files:
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        )
        parts.append(head.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def report_body(
    client: FlaskClient, files: Sequence[Upload] = (), **overrides: object
) -> tuple[bytes, str]:
    """The body of a complete report with these files, tokens from a form this client opened."""
    _html, tokens = open_report_form(client)
    return multipart(
        {**tokens, **valid_report(organizations=[str(intake_id())], **overrides)}, files
    )


def send_report_with_files(client: FlaskClient, files: Sequence[Upload] = (), **overrides: object):
    body, content_type = report_body(client, files, **overrides)
    return client.post("/report", data=body, content_type=content_type)


def submitted(
    client: FlaskClient, files: Sequence[Upload] = (), **overrides: object
) -> tuple[int, str]:
    """Send a report through the form; return its id and the receipt (digits only)."""
    response = send_report_with_files(client, files, **overrides)
    assert response.status_code == 200, response.get_data(as_text=True)
    receipt = crypto.normalize_receipt(receipt_from(response.get_data(as_text=True)))
    return report_id_for(client.application, receipt), receipt


def report_id_for(app: Flask, receipt: str) -> int:
    lookup = crypto.receipt_lookup_id(
        crypto.Receipt(receipt), app.config["PORTAL_SECRETS"].lookup_key
    )
    return db.session.scalar(select(Report.id).where(Report.lookup_id == lookup))


def grouped(receipt: str, separator: str = " ") -> str:
    return separator.join(receipt[i : i + 5] for i in range(0, len(receipt), 5))


def open_follow_up(client: FlaskClient, typed: str):
    """Type a receipt into the follow-up form, as a browser would, CSRF token included."""
    html = client.get("/follow-up").get_data(as_text=True)
    return client.post(
        "/follow-up", data={"csrf_token": hidden_value(html, "csrf_token"), "receipt": typed}
    )


def signed_in_reporter(client: FlaskClient, receipt: str) -> FlaskClient:
    response = open_follow_up(client, grouped(receipt))
    assert response.status_code == 303, response.get_data(as_text=True)
    assert response.headers["Location"].endswith("/follow-up/report")
    return client


def reporter_page(client: FlaskClient) -> str:
    response = client.get("/follow-up/report")
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def reporter_post(
    client: FlaskClient,
    path: str,
    data: dict[str, object] | None = None,
    files: Sequence[Upload] = (),
):
    """Send one of the forms on the reporter's report page, CSRF token included."""
    token = hidden_value(reporter_page(client), "csrf_token")
    body, content_type = multipart({"csrf_token": token, **(data or {})}, files)
    return client.post(path, data=body, content_type=content_type)


def staff_page(client: FlaskClient, report_id: int) -> str:
    response = client.get(f"/staff/reports/{report_id}")
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def staff_post(client: FlaskClient, report_id: int, action: str, data: dict[str, object]):
    """Send one of the forms on a report's staff page, CSRF token included."""
    token = hidden_value(staff_page(client, report_id), "csrf_token")
    return client.post(f"/staff/reports/{report_id}/{action}", data={"csrf_token": token, **data})


def download_link(html: str, report_id: int, name: str) -> str:
    """The staff page's download link for the file with this name."""
    match = re.search(
        rf'href="(/staff/reports/{report_id}/files/\d+)"[^>]*>{re.escape(name)}</a>', html
    )
    assert match, f"no download link for {name}"
    return match.group(1)


def attachment_ids(report_id: int) -> list[int]:
    return list(
        db.session.scalars(
            select(Attachment.id).where(Attachment.report_id == report_id).order_by(Attachment.id)
        )
    )


def visible_text(html: str) -> str:
    """What a person reads on a page: tags and attribute values (tokens, typed values) left out."""
    return " ".join(re.sub(r"<[^>]*>", " ", html).split())


def contains_any(blob: bytes, needles: Iterable[bytes]) -> bool:
    return any(needle in blob for needle in needles)
