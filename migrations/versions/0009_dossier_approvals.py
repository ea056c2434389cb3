"""What each dossier sign-off approved, kept after the sign-off request is replaced.

A sign-off request (``dossier_signoffs``) is one row per version of a person's record and is
replaced when the dossier's content changes; linked incidents are not part of the person's
versioned record. ``dossier_approvals`` keeps, for every sign-off, the canonical content whose hash
was approved and the links it counted, so the next signer sees what changed since.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('dossier_approvals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('links', sa.Text(), nullable=False),
    sa.Column('prepared_by', sa.Integer(), nullable=False),
    sa.Column('signed_by', sa.Integer(), nullable=False),
    sa.Column('signed_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_dossier_approvals_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dossier_approvals'))
    )
    with op.batch_alter_table('dossier_approvals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dossier_approvals_person_id'), ['person_id'], unique=False)


def downgrade():
    with op.batch_alter_table('dossier_approvals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dossier_approvals_person_id'))
    op.drop_table('dossier_approvals')
