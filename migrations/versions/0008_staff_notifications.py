"""Staff notifications: each staff member's email choice, and the outbox of waiting notifications.

A waiting notification holds only its kind, its staff member and the day: never a report.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('notification_preferences',
    sa.Column('staff_member_id', sa.Integer(), nullable=False),
    sa.Column('delivery', sa.String(length=16), nullable=False),
    sa.Column('locale', sa.String(length=16), nullable=True),
    sa.CheckConstraint("delivery IN ('off', 'immediate', 'daily')", name=op.f('ck_notification_preferences_delivery')),
    sa.ForeignKeyConstraint(['staff_member_id'], ['staff_members.id'], name=op.f('fk_notification_preferences_staff_member_id_staff_members'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('staff_member_id', name=op.f('pk_notification_preferences'))
    )
    op.create_table('pending_notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_member_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('retry_after', sa.DateTime(), nullable=True),
    sa.CheckConstraint("kind IN ('new_report', 'reporter_replied')", name=op.f('ck_pending_notifications_kind')),
    sa.ForeignKeyConstraint(['staff_member_id'], ['staff_members.id'], name=op.f('fk_pending_notifications_staff_member_id_staff_members'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_notifications'))
    )
    with op.batch_alter_table('pending_notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pending_notifications_staff_member_id'), ['staff_member_id'], unique=False)


def downgrade():
    # Waiting notifications and choices are dropped: nothing else refers to them.
    with op.batch_alter_table('pending_notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pending_notifications_staff_member_id'))
    op.drop_table('pending_notifications')
    op.drop_table('notification_preferences')
