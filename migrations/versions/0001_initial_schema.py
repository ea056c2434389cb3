"""Initial schema: organizations, staff, the recovery key, reports and their wrapped keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('organizations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('is_default_recipient', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organizations')),
    sa.UniqueConstraint('slug', name=op.f('uq_organizations_slug'))
    )
    op.create_table('recovery_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_key', sa.LargeBinary(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('retired_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_keys')),
    sa.UniqueConstraint('fingerprint', name=op.f('uq_recovery_keys_fingerprint'))
    )
    op.create_table('reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('lookup_id', sa.LargeBinary(length=32), nullable=False),
    sa.Column('receipt_verifier', sa.String(length=255), nullable=False),
    sa.Column('reporter_public_key', sa.LargeBinary(), nullable=False),
    sa.Column('reporter_private_key_locked', sa.LargeBinary(), nullable=False),
    sa.Column('reporter_wrapped_key', sa.LargeBinary(), nullable=False),
    sa.Column('answers_sealed', sa.LargeBinary(), nullable=False),
    sa.Column('consent_statistics', sa.Boolean(), nullable=False),
    sa.Column('consent_referral', sa.Boolean(), nullable=False),
    sa.Column('consent_contact', sa.Boolean(), nullable=False),
    sa.CheckConstraint("status IN ('received', 'under_review', 'referred', 'closed')", name=op.f('ck_reports_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reports')),
    sa.UniqueConstraint('lookup_id', name=op.f('uq_reports_lookup_id'))
    )
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reports_received_on'), ['received_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_status'), ['status'], unique=False)

    op.create_table('report_organizations',
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_report_organizations_organization_id_organizations')),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_report_organizations_report_id_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('report_id', 'organization_id', name=op.f('pk_report_organizations'))
    )
    with op.batch_alter_table('report_organizations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_organizations_organization_id'), ['organization_id'], unique=False)

    op.create_table('staff_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('password_verifier', sa.String(length=255), nullable=False),
    sa.Column('public_key', sa.LargeBinary(), nullable=False),
    sa.Column('private_key_locked', sa.LargeBinary(), nullable=False),
    sa.Column('totp_secret_sealed', sa.LargeBinary(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("role IN ('triager', 'org_admin', 'coalition_admin', 'analyst')", name=op.f('ck_staff_members_role')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_staff_members_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_members')),
    sa.UniqueConstraint('email', name=op.f('uq_staff_members_email'))
    )
    with op.batch_alter_table('staff_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_members_organization_id'), ['organization_id'], unique=False)

    op.create_table('wrapped_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('staff_member_id', sa.Integer(), nullable=True),
    sa.Column('recovery_key_id', sa.Integer(), nullable=True),
    sa.Column('wrapped', sa.LargeBinary(), nullable=False),
    sa.CheckConstraint('(staff_member_id IS NULL) <> (recovery_key_id IS NULL)', name=op.f('ck_wrapped_keys_one_recipient')),
    sa.ForeignKeyConstraint(['recovery_key_id'], ['recovery_keys.id'], name=op.f('fk_wrapped_keys_recovery_key_id_recovery_keys')),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_wrapped_keys_report_id_reports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_member_id'], ['staff_members.id'], name=op.f('fk_wrapped_keys_staff_member_id_staff_members'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wrapped_keys')),
    sa.UniqueConstraint('report_id', 'recovery_key_id', name='uq_wrapped_keys_report_recovery'),
    sa.UniqueConstraint('report_id', 'staff_member_id', name='uq_wrapped_keys_report_staff')
    )
    with op.batch_alter_table('wrapped_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wrapped_keys_recovery_key_id'), ['recovery_key_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_wrapped_keys_report_id'), ['report_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_wrapped_keys_staff_member_id'), ['staff_member_id'], unique=False)



def downgrade():
    with op.batch_alter_table('wrapped_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wrapped_keys_staff_member_id'))
        batch_op.drop_index(batch_op.f('ix_wrapped_keys_report_id'))
        batch_op.drop_index(batch_op.f('ix_wrapped_keys_recovery_key_id'))

    op.drop_table('wrapped_keys')
    with op.batch_alter_table('staff_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_members_organization_id'))

    op.drop_table('staff_members')
    with op.batch_alter_table('report_organizations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_organizations_organization_id'))

    op.drop_table('report_organizations')
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reports_status'))
        batch_op.drop_index(batch_op.f('ix_reports_received_on'))

    op.drop_table('reports')
    op.drop_table('recovery_keys')
    op.drop_table('organizations')
