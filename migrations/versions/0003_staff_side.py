"""Staff side: sessions, sign-in throttles, the triage record, status history, notes, referrals.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sign_in_throttles',
    sa.Column('email_key', sa.LargeBinary(length=32), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('blocked_until', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('email_key', name=op.f('pk_sign_in_throttles'))
    )
    op.create_table('staff_sessions',
    sa.Column('id_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('staff_member_id', sa.Integer(), nullable=False),
    sa.Column('sealed_private_key', sa.LargeBinary(), nullable=False),
    sa.Column('second_factor_done', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['staff_member_id'], ['staff_members.id'], name=op.f('fk_staff_sessions_staff_member_id_staff_members'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id_hash', name=op.f('pk_staff_sessions'))
    )
    with op.batch_alter_table('staff_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_sessions_staff_member_id'), ['staff_member_id'], unique=False)

    op.create_table('referrals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('staff_member_id', sa.Integer(), nullable=True),
    sa.Column('agency', sa.String(length=16), nullable=False),
    sa.Column('details_sealed', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("agency IN ('rcmp', 'police', 'csis', 'gac')", name=op.f('ck_referrals_agency')),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_referrals_report_id_reports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_member_id'], ['staff_members.id'], name=op.f('fk_referrals_staff_member_id_staff_members'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referrals'))
    )
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referrals_report_id'), ['report_id'], unique=False)

    op.create_table('report_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('staff_member_id', sa.Integer(), nullable=True),
    sa.Column('body_sealed', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_report_notes_report_id_reports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_member_id'], ['staff_members.id'], name=op.f('fk_report_notes_staff_member_id_staff_members'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_notes'))
    )
    with op.batch_alter_table('report_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_notes_report_id'), ['report_id'], unique=False)

    op.create_table('report_status_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('staff_member_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('reason_sealed', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_report_status_changes_report_id_reports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_member_id'], ['staff_members.id'], name=op.f('fk_report_status_changes_staff_member_id_staff_members'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_status_changes'))
    )
    with op.batch_alter_table('report_status_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_status_changes_report_id'), ['report_id'], unique=False)

    op.create_table('report_tactics',
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_report_tactics_report_id_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('report_id', 'code', name=op.f('pk_report_tactics'))
    )
    with op.batch_alter_table('report_tactics', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_tactics_code'), ['code'], unique=False)

    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assignee_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('awaiting_reply', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('triaged_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('severity', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('credibility', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('community', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('province', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('incident_month', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('perpetrator_type', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('duplicate_of_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_reports_assignee_id'), ['assignee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_awaiting_reply'), ['awaiting_reply'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_community'), ['community'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_duplicate_of_id'), ['duplicate_of_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_incident_month'), ['incident_month'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_province'), ['province'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_reports_assignee_id_staff_members'), 'staff_members', ['assignee_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_reports_duplicate_of_id_reports'), 'reports', ['duplicate_of_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('staff_members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_confirmed', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('totp_last_step', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('needs_new_password', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('setup_expires_at', sa.DateTime(), nullable=True))



def downgrade():
    with op.batch_alter_table('staff_members', schema=None) as batch_op:
        batch_op.drop_column('setup_expires_at')
        batch_op.drop_column('needs_new_password')
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_confirmed')

    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_reports_duplicate_of_id_reports'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_reports_assignee_id_staff_members'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_reports_province'))
        batch_op.drop_index(batch_op.f('ix_reports_incident_month'))
        batch_op.drop_index(batch_op.f('ix_reports_duplicate_of_id'))
        batch_op.drop_index(batch_op.f('ix_reports_community'))
        batch_op.drop_index(batch_op.f('ix_reports_awaiting_reply'))
        batch_op.drop_index(batch_op.f('ix_reports_assignee_id'))
        batch_op.drop_column('duplicate_of_id')
        batch_op.drop_column('perpetrator_type')
        batch_op.drop_column('incident_month')
        batch_op.drop_column('province')
        batch_op.drop_column('community')
        batch_op.drop_column('credibility')
        batch_op.drop_column('severity')
        batch_op.drop_column('triaged_at')
        batch_op.drop_column('awaiting_reply')
        batch_op.drop_column('assignee_id')

    with op.batch_alter_table('report_tactics', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_tactics_code'))

    op.drop_table('report_tactics')
    with op.batch_alter_table('report_status_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_status_changes_report_id'))

    op.drop_table('report_status_changes')
    with op.batch_alter_table('report_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_notes_report_id'))

    op.drop_table('report_notes')
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referrals_report_id'))

    op.drop_table('referrals')
    with op.batch_alter_table('staff_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_sessions_staff_member_id'))

    op.drop_table('staff_sessions')
    op.drop_table('sign_in_throttles')
