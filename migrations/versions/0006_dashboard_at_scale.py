"""Dashboard at scale: sort keys and their indexes, and counters kept by the database.

- ``reports.status_rank`` and ``reports.severity_rank``: small integers the dashboard sorts on
  (higher first), because the codes themselves sort as text ('critical' < 'high' < 'low' <
  'medium'). Each sort has an index on (key, id), so a page is an index range, never a sort of
  the organization's reports; so do the status and assignee filters, newest first.
- ``dashboard_counter_changes``: an append-only ledger of changes to each organization's "new",
  "unassigned" and "awaiting reply" counters, written by triggers on ``reports`` and
  ``report_organizations``, so every writer (services, CLI, foreign-key actions, bulk SQL) keeps
  the counters exact. The dashboard sums an organization's rows and folds them into one row now
  and then (``portal.reports.counters``). Writers only insert: no hot counter row to lock while a
  submission (and its files) is being stored.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

# The ranks as they were when this migration was written (a migration never changes later).
STATUS_RANK = ("CASE status WHEN 'received' THEN 3 WHEN 'under_review' THEN 2 "
               "WHEN 'referred' THEN 1 ELSE 0 END")
SEVERITY_RANK = ("CASE severity WHEN 'critical' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 "
                 "WHEN 'low' THEN 1 ELSE 0 END")


def _counts(row: str) -> tuple[str, str, str]:
    """What one report in state ``row`` (a table alias, NEW or OLD) adds to each counter.

    Written with CASE so the same text runs on PostgreSQL and SQLite. "Unassigned" leaves out
    closed reports, as the dashboard always has.
    """
    return (
        f"CASE WHEN {row}.status = 'received' THEN 1 ELSE 0 END",
        f"CASE WHEN {row}.assignee_id IS NULL AND {row}.status <> 'closed' THEN 1 ELSE 0 END",
        f"CASE WHEN {row}.awaiting_reply THEN 1 ELSE 0 END",
    )


def _nonzero(values: tuple[str, str, str]) -> str:
    return " OR ".join(f"({value}) <> 0" for value in values)


LEDGER = "INSERT INTO dashboard_counter_changes (organization_id, new_count, unassigned_count, awaiting_reply_count)"


def _shared_sql(sign: str, organization: str, report_id: str) -> str:
    """A report starts (+) or stops (-) counting for one organization, in its current state."""
    counts = _counts("r")
    return (
        f"{LEDGER} SELECT {organization}, {', '.join(f'{sign}({c})' for c in counts)} "
        f"FROM reports r WHERE r.id = {report_id} AND ({_nonzero(counts)})"
    )


def _changed_sql() -> str:
    """A report's state changed: the difference, for every organization it is shared with."""
    deltas = tuple(f"({new}) - ({old})" for new, old in zip(_counts("NEW"), _counts("OLD"), strict=True))
    return (
        f"{LEDGER} SELECT ro.organization_id, {', '.join(deltas)} "
        f"FROM report_organizations ro WHERE ro.report_id = NEW.id AND ({_nonzero(deltas)})"
    )


def _deleted_sql() -> str:
    """A report is about to go: it stops counting for every organization it was shared with."""
    counts = _counts("OLD")
    return (
        f"{LEDGER} SELECT ro.organization_id, {', '.join(f'-({c})' for c in counts)} "
        f"FROM report_organizations ro WHERE ro.report_id = OLD.id AND ({_nonzero(counts)})"
    )


COUNTED_CHANGE = ("OLD.status IS DISTINCT FROM NEW.status OR OLD.assignee_id IS DISTINCT FROM NEW.assignee_id "
                  "OR OLD.awaiting_reply IS DISTINCT FROM NEW.awaiting_reply")

# PostgreSQL: one function per trigger. The share triggers lock the report row (FOR SHARE) before
# reading its state, so a concurrent status change either runs first (and is read here) or waits
# and then sees the new share (its trigger's statement takes a fresh snapshot): never both, never
# neither. Deletion runs BEFORE the row goes, while its shares are still there to be read; the
# cascade that then removes the shares finds no report and adds nothing.
POSTGRESQL_FUNCTIONS = {
    "dashboard_counts_shared": f"""
        BEGIN
            PERFORM 1 FROM reports WHERE id = NEW.report_id FOR SHARE;
            {_shared_sql('+', 'NEW.organization_id', 'NEW.report_id')};
            RETURN NULL;
        END""",
    "dashboard_counts_unshared": f"""
        BEGIN
            PERFORM 1 FROM reports WHERE id = OLD.report_id FOR SHARE;
            {_shared_sql('-', 'OLD.organization_id', 'OLD.report_id')};
            RETURN NULL;
        END""",
    "dashboard_counts_changed": f"""
        BEGIN
            {_changed_sql()};
            RETURN NULL;
        END""",
    "dashboard_counts_deleted": f"""
        BEGIN
            {_deleted_sql()};
            RETURN OLD;
        END""",
}
POSTGRESQL_TRIGGERS = {
    "dashboard_counts_shared": "AFTER INSERT ON report_organizations FOR EACH ROW",
    "dashboard_counts_unshared": "AFTER DELETE ON report_organizations FOR EACH ROW",
    "dashboard_counts_changed": ("AFTER UPDATE OF status, assignee_id, awaiting_reply ON reports FOR EACH ROW "
                                 f"WHEN ({COUNTED_CHANGE})"),
    "dashboard_counts_deleted": "BEFORE DELETE ON reports FOR EACH ROW",
}

# SQLite: the same statements as trigger bodies (one writer at a time, so no locking is needed).
SQLITE_TRIGGERS = {
    "dashboard_counts_shared": ("AFTER INSERT ON report_organizations FOR EACH ROW",
                                _shared_sql('+', 'NEW.organization_id', 'NEW.report_id')),
    "dashboard_counts_unshared": ("AFTER DELETE ON report_organizations FOR EACH ROW",
                                  _shared_sql('-', 'OLD.organization_id', 'OLD.report_id')),
    "dashboard_counts_changed": ("AFTER UPDATE OF status, assignee_id, awaiting_reply ON reports FOR EACH ROW "
                                 f"WHEN {COUNTED_CHANGE.replace('IS DISTINCT FROM', 'IS NOT')}",
                                 _changed_sql()),
    "dashboard_counts_deleted": ("BEFORE DELETE ON reports FOR EACH ROW", _deleted_sql()),
}


def _create_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, body in POSTGRESQL_FUNCTIONS.items():
            op.execute(f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ {body} $$")
            op.execute(f"CREATE TRIGGER {name} {POSTGRESQL_TRIGGERS[name]} EXECUTE FUNCTION {name}()")
    else:
        for name, (when, statement) in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {when} BEGIN {statement}; END")


def _drop_triggers() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name in SQLITE_TRIGGERS:
        table = "report_organizations" if "shared" in name else "reports"
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if postgresql else ""))
        if postgresql:
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")


def _count_existing_reports() -> None:
    """Start each organization's ledger from what it holds now."""
    counts = _counts("r")
    op.execute(
        f"{LEDGER} SELECT ro.organization_id, {', '.join(f'SUM({c})' for c in counts)} "
        "FROM report_organizations ro JOIN reports r ON r.id = ro.report_id GROUP BY ro.organization_id"
    )


def upgrade():
    # ADD COLUMN and CREATE INDEX only: on SQLite, rebuilding `reports` would drop it, and with
    # foreign keys on, that deletes every wrapped key and share through ON DELETE CASCADE.
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status_rank', sa.SmallInteger(), nullable=False, server_default=sa.text('3')))
        batch_op.add_column(sa.Column('severity_rank', sa.SmallInteger(), nullable=False, server_default=sa.text('0')))
    op.execute(f"UPDATE reports SET status_rank = {STATUS_RANK}, severity_rank = {SEVERITY_RANK}")
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reports_received_on'))
        batch_op.drop_index(batch_op.f('ix_reports_status'))
        batch_op.drop_index(batch_op.f('ix_reports_assignee_id'))
        batch_op.create_index('ix_reports_received_on_id', ['received_on', 'id'], unique=False)
        batch_op.create_index('ix_reports_status_rank_id', ['status_rank', 'id'], unique=False)
        batch_op.create_index('ix_reports_severity_rank_id', ['severity_rank', 'id'], unique=False)
        batch_op.create_index('ix_reports_status_received_on_id', ['status', 'received_on', 'id'], unique=False)
        batch_op.create_index('ix_reports_assignee_id_received_on_id', ['assignee_id', 'received_on', 'id'], unique=False)

    op.create_table('dashboard_counter_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('new_count', sa.Integer(), nullable=False),
    sa.Column('unassigned_count', sa.Integer(), nullable=False),
    sa.Column('awaiting_reply_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_dashboard_counter_changes_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dashboard_counter_changes'))
    )
    with op.batch_alter_table('dashboard_counter_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dashboard_counter_changes_organization_id'), ['organization_id'], unique=False)

    _count_existing_reports()
    _create_triggers()


def downgrade():
    _drop_triggers()
    with op.batch_alter_table('dashboard_counter_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dashboard_counter_changes_organization_id'))

    op.drop_table('dashboard_counter_changes')
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index('ix_reports_assignee_id_received_on_id')
        batch_op.drop_index('ix_reports_status_received_on_id')
        batch_op.drop_index('ix_reports_severity_rank_id')
        batch_op.drop_index('ix_reports_status_rank_id')
        batch_op.drop_index('ix_reports_received_on_id')
        batch_op.create_index(batch_op.f('ix_reports_received_on'), ['received_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_assignee_id'), ['assignee_id'], unique=False)
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+), not a batch rebuild: see upgrade().
    op.drop_column('reports', 'severity_rank')
    op.drop_column('reports', 'status_rank')
