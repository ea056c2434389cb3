"""Uploads written once: an evidence file's row exists before its report.

The sealed chunks are written while the file arrives, under an ``attachments`` row that the
report's transaction later attaches (``portal.reports.attachments``). Until then the row has no
report, no sealed key, no details and no uploader, so those columns become nullable; a check
keeps an attached row whole. ``receiver`` names the process receiving an unattached file, so that
what a process that died was receiving can be deleted.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

ATTACHED_WHOLE = ("report_id IS NULL OR (file_key_sealed IS NOT NULL AND details_sealed IS NOT NULL "
                  "AND uploaded_by IS NOT NULL)")
KNOWN_ONCE_ATTACHED = (
    ('report_id', sa.Integer()),
    ('file_key_sealed', sa.LargeBinary()),
    ('details_sealed', sa.LargeBinary()),
    ('uploaded_by', sa.String(length=10)),
)


def upgrade():
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        for name, type_ in KNOWN_ONCE_ATTACHED:
            batch_op.alter_column(name, existing_type=type_, nullable=True)
        batch_op.add_column(sa.Column('receiver', sa.String(length=16), nullable=True))
        batch_op.create_check_constraint(op.f('ck_attachments_attached_whole'), ATTACHED_WHOLE)


def downgrade():
    # An unattached file cannot be kept: its key never left the memory of the process that
    # received it. Foreign keys are off while migrating on SQLite, so the chunks go first.
    op.execute("DELETE FROM attachment_chunks WHERE attachment_id IN "
               "(SELECT id FROM attachments WHERE report_id IS NULL)")
    op.execute("DELETE FROM attachments WHERE report_id IS NULL")
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_attachments_attached_whole'), type_='check')
        batch_op.drop_column('receiver')
        for name, type_ in KNOWN_ONCE_ATTACHED:
            batch_op.alter_column(name, existing_type=type_, nullable=False)
