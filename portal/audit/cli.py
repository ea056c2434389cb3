"""`portal audit`: check the audit log from the command line."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from portal.audit import services as audit
from portal.db import db

audit_group = AppGroup("audit", help="The audit log of staff actions.")


@audit_group.command("verify")
@click.pass_context
def audit_verify(ctx: click.Context) -> None:
    """Check that no audit event was edited, removed or reordered; exit 1 if one was."""
    report = audit.verify_chain(db.session, key=current_app.config["PORTAL_SECRETS"].audit_key)
    if not report.ok:
        click.echo(f"Audit log BROKEN at event {report.broken_at_seq}: {report.reason}", err=True)
        ctx.exit(1)
    click.echo(f"Audit log intact: {report.checked} events checked.")
