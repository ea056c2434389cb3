"""The `portal` command: a Flask CLI with the portal's own administration commands."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, NoAppException, routes_command, shell_command, with_appcontext

from portal import create_app, crypto, embedded_server
from portal.config import default_instance_path, read_settings
from portal.db import db
from portal.instance import MissingInstanceSecrets, create_secrets
from portal.orgs import services as orgs
from portal.reports import services as reports


def _load_app():
    try:
        return create_app()
    except MissingInstanceSecrets as exc:
        raise NoAppException(str(exc)) from exc


def _audit(action: str, target_type: str | None, target_id: int | None, **details: object) -> None:
    """Record an administrator's command-line action in the audit log (no staff actor)."""
    from portal.audit.services import record_event

    record_event(
        db.session,
        key=current_app.config["PORTAL_SECRETS"].audit_key,
        action=action,
        target_type=target_type,
        target_id=target_id,
        details=details,
    )
    db.session.commit()


@click.group(cls=FlaskGroup, create_app=_load_app, add_default_commands=False, load_dotenv=False)
def main() -> None:
    """Administer the portal."""


main.add_command(shell_command)
main.add_command(routes_command)


def _write_private_file(path: Path, content: str) -> None:
    """Create a new file readable only by its owner; never overwrite one."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(content)


@main.command("init", with_appcontext=False)
def init_command() -> None:
    """Create the instance secrets (once) and bring the database schema up to date."""
    from flask_migrate import upgrade

    instance_path = Path(read_settings()["INSTANCE_PATH"] or default_instance_path())
    if create_secrets(instance_path):
        click.echo(f"Created instance secrets in {instance_path}. Back them up with the database.")
    else:
        click.echo(f"Instance secrets already exist in {instance_path}; kept them.")
    app = create_app()
    with app.app_context():
        upgrade()
    click.echo("Database is up to date.")


@main.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def run_command(host: str, port: int) -> None:
    """Serve the portal with the development server (client addresses are never logged)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    click.echo(f"Serving on http://{host}:{port}/ — for production use gunicorn (docs/operations.md).")
    embedded_server.serve(app, host, port)


# --- organizations and staff ---------------------------------------------------------------


@main.group("org")
def org_group() -> None:
    """Member organizations."""


@org_group.command("add")
@click.argument("slug")
@click.argument("name")
@click.option("--default-recipient", is_flag=True, help="Pre-select it on the report form.")
@with_appcontext
def org_add(slug: str, name: str, default_recipient: bool) -> None:
    """Add an organization."""
    try:
        organization = orgs.add_organization(db.session, slug, name, default_recipient=default_recipient)
    except orgs.OrgError as exc:
        raise click.ClickException(str(exc)) from exc
    _audit("organization_created", "organization", organization.id, via="cli")
    click.echo(f"Added organization {slug}.")


@org_group.command("list")
@with_appcontext
def org_list() -> None:
    """List organizations."""
    from sqlalchemy import select

    from portal.orgs.models import Organization

    for org in db.session.scalars(select(Organization).order_by(Organization.slug)):
        marker = " (default recipient)" if org.is_default_recipient else ""
        click.echo(f"{org.slug}\t{org.name}{marker}")


@main.group("staff")
def staff_group() -> None:
    """Staff members."""


@staff_group.command("add")
@click.argument("email")
@click.option("--org", "org_slug", required=True, help="Slug of the staff member's organization.")
@click.option("--role", required=True, type=click.Choice(["triager", "org_admin", "coalition_admin", "analyst"]))
@click.option("--password-stdin", is_flag=True, required=True, help="Read the password from standard input.")
@with_appcontext
def staff_add(email: str, org_slug: str, role: str, password_stdin: bool) -> None:
    """Add a staff member with a fresh keypair; print their second-factor enrolment URI."""
    password = sys.stdin.readline().rstrip("\r\n")
    try:
        created = orgs.add_staff_member(
            db.session,
            email=email,
            organization_slug=org_slug,
            role=role,
            password=password,
            kdf=current_app.config["PORTAL_KDF"],
            totp_key=current_app.config["PORTAL_SECRETS"].totp_key,
        )
    except orgs.OrgError as exc:
        raise click.ClickException(str(exc)) from exc
    _audit("staff_created", "staff", created.staff.id, role=role, via="cli")
    click.echo(f"Added {created.staff.email} ({role}, {org_slug}).")
    click.echo("Add this to an authenticator app; sign-in will ask for its codes:")
    click.echo(created.otpauth_uri)


# --- keys and recovery ---------------------------------------------------------------------


@main.group("keys")
def keys_group() -> None:
    """The coalition recovery key."""


@keys_group.command("recovery-init")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def recovery_init(out_path: Path) -> None:
    """Create the recovery keypair; write the private half to FILE and keep only the public half."""

    def deliver(private_key: crypto.PrivateKey) -> None:
        _write_private_file(out_path, crypto.armor_private_key(private_key))

    try:
        record = orgs.create_recovery_key(db.session, deliver)
    except orgs.OrgError as exc:
        raise click.ClickException(str(exc)) from exc
    except FileExistsError as exc:
        raise click.ClickException(f"{out_path} already exists; choose a new file.") from exc
    click.echo(f"Wrote the recovery private key to {out_path}.")
    click.echo("Move it off this server now, keep it offline, and delete it here.")
    click.echo(f"Fingerprint: {record.fingerprint}")


@main.group("recovery")
def recovery_group() -> None:
    """Disaster recovery with the offline recovery key."""


@recovery_group.command("export")
@click.option("--key", "key_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def recovery_export(key_path: Path, out_path: Path) -> None:
    """Decrypt every report with the recovery key into a JSON-lines FILE (readable by owner only)."""
    try:
        private_key = crypto.dearmor_private_key(key_path.read_text("utf-8"))
    except (crypto.CryptoError, UnicodeDecodeError) as exc:
        raise click.ClickException("That file is not a recovery key.") from exc
    try:
        fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise click.ClickException(f"{out_path} already exists; choose a new file.") from exc
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            for record in reports.recovery_export(db.session, private_key):
                handle.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
                count += 1
    except (reports.RecoveryKeyUnknown, crypto.CryptoError) as exc:
        out_path.unlink(missing_ok=True)
        raise click.ClickException("That key is not this portal's recovery key.") from exc
    _audit("recovery_export", None, None, reports=count, via="cli")
    click.echo(f"Exported {count} reports to {out_path}.")


@main.command("aggregate")
@click.option("--since", required=True, type=click.DateTime(formats=["%Y-%m-%d"]), help="First day, YYYY-MM-DD.")
@click.option("--until", required=True, type=click.DateTime(formats=["%Y-%m-%d"]), help="Last day, YYYY-MM-DD.")
@click.option("--lang", type=click.Choice(["en", "fr"]), default="en", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["html", "pdf", "csv"]), required=True)
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--threshold", type=click.IntRange(5, 100), default=10, show_default=True,
              help="Suppress counts below this (20 is suggested for public release).")
@click.option("--round", "round_counts", is_flag=True, help="Round published counts randomly to base 5.")
@with_appcontext
def aggregate_command(since, until, lang: str, fmt: str, out_path: Path, threshold: int, round_counts: bool) -> None:  # noqa: ANN001
    """Write the privacy-protected aggregate report for a period to FILE."""
    import datetime as dt

    from sqlalchemy import select

    from portal.officials.models import Campaign
    from portal.statistics import counting, report

    if until < since:
        raise click.BadParameter("--until is before --since")
    period = counting.Period(since.date(), until.date())
    steps = [key for key, _title, _pick in report.TABLES]
    with click.progressbar(length=len(steps) + 1, label="Counting", file=sys.stderr) as bar:
        built = report.build_report(
            db.session, period, threshold=threshold,
            rounding_key=current_app.config["PORTAL_SECRETS"].statistics_key if round_counts else None,
            on_step=lambda _step: bar.update(1),
        )
        titles = report.campaign_titles(db.session.scalars(select(Campaign)), lang)
        generated = dt.datetime.now(dt.UTC)
        if fmt == "csv":
            content = report.render_csv(built, lang, titles)
        elif fmt == "pdf":
            content = report.render_pdf(built, lang, titles, generated=generated)
        else:
            content = report.render_html(built, lang, titles, generated=generated, standalone=True).encode("utf-8")
        bar.update(1)
    out_path.write_bytes(content)
    _audit("statistics_exported", "period", None, format=fmt, since=period.since.isoformat(),
           until=period.until.isoformat(), via="cli")
    click.echo(f"Wrote {out_path} ({len(content)} bytes).")


@main.command("demo")
@click.option(
    "--recovery-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the demo recovery key (default: the instance folder).",
)
@with_appcontext
def demo_command(recovery_out: Path | None) -> None:
    """Fill the database with clearly fake organizations, staff and reports for trying it out."""
    from portal.demo import DemoRefused, load_demo

    out = recovery_out or Path(current_app.instance_path) / "DEMO-recovery-key.txt"
    try:
        for line in load_demo(
            db.session,
            recovery_key_out=out,
            kdf=current_app.config["PORTAL_KDF"],
            totp_key=current_app.config["PORTAL_SECRETS"].totp_key,
            lookup_key=current_app.config["PORTAL_SECRETS"].lookup_key,
        ):
            click.echo(line)
    except DemoRefused as exc:
        raise click.ClickException(str(exc)) from None


from portal.audit.cli import audit_group  # noqa: E402
from portal.notifications.cli import notifications_group  # noqa: E402

main.add_command(audit_group)
main.add_command(notifications_group)
