"""Follow-up: reporter sessions, receipt throttles, messages, evidence files and their chunks.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('follow_up_windows',
    sa.Column('window_start', sa.DateTime(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('window_start', name=op.f('pk_follow_up_windows'))
    )
    op.create_table('receipt_throttles',
    sa.Column('lookup_id', sa.LargeBinary(length=32), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('blocked_until', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('lookup_id', name=op.f('pk_receipt_throttles'))
    )
    op.create_table('attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('file_key_sealed', sa.LargeBinary(), nullable=False),
    sa.Column('details_sealed', sa.LargeBinary(), nullable=False),
    sa.Column('stream_header', sa.LargeBinary(), nullable=False),
    sa.Column('chunk_count', sa.Integer(), nullable=False),
    sa.Column('stored_bytes', sa.BigInteger(), nullable=False),
    sa.Column('uploaded_by', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_attachments_report_id_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachments'))
    )
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachments_report_id'), ['report_id'], unique=False)

    op.create_table('report_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('author', sa.String(length=10), nullable=False),
    sa.Column('staff_member_id', sa.Integer(), nullable=True),
    sa.Column('body_sealed', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("author IN ('reporter', 'staff')", name=op.f('ck_report_messages_author')),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_report_messages_report_id_reports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_member_id'], ['staff_members.id'], name=op.f('fk_report_messages_staff_member_id_staff_members'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_messages'))
    )
    with op.batch_alter_table('report_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_messages_report_id'), ['report_id'], unique=False)

    op.create_table('reporter_sessions',
    sa.Column('id_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('sealed_content_key', sa.LargeBinary(), nullable=False),
    sa.Column('previous_use_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_reporter_sessions_report_id_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id_hash', name=op.f('pk_reporter_sessions'))
    )
    with op.batch_alter_table('reporter_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reporter_sessions_report_id'), ['report_id'], unique=False)

    op.create_table('attachment_chunks',
    sa.Column('attachment_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['attachment_id'], ['attachments.id'], name=op.f('fk_attachment_chunks_attachment_id_attachments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('attachment_id', 'position', name=op.f('pk_attachment_chunks'))
    )
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('receipt_last_used_at', sa.DateTime(), nullable=True))



def downgrade():
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_column('receipt_last_used_at')

    op.drop_table('attachment_chunks')
    with op.batch_alter_table('reporter_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reporter_sessions_report_id'))

    op.drop_table('reporter_sessions')
    with op.batch_alter_table('report_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_messages_report_id'))

    op.drop_table('report_messages')
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachments_report_id'))

    op.drop_table('attachments')
    op.drop_table('receipt_throttles')
    op.drop_table('follow_up_windows')
