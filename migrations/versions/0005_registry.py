"""The officials and entities registry, incident links, dossier sign-offs and exports, campaigns.

Seeds the missions and agencies and the coalition letter's campaigns.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

# The seed data as it was when this migration was written (a migration never changes later).
ENTITIES = (('embassy-ottawa',
  'embassy',
  "Embassy of the People's Republic of China in Ottawa",
  'Ambassade de la République populaire de Chine à Ottawa',
  '中华人民共和国驻加拿大大使馆',
  'Ottawa'),
 ('consulate-toronto',
  'consulate',
  "Consulate General of the People's Republic of China in Toronto",
  'Consulat général de la République populaire de Chine à Toronto',
  '中华人民共和国驻多伦多总领事馆',
  'Toronto'),
 ('consulate-vancouver',
  'consulate',
  "Consulate General of the People's Republic of China in Vancouver",
  'Consulat général de la République populaire de Chine à Vancouver',
  '中华人民共和国驻温哥华总领事馆',
  'Vancouver'),
 ('consulate-calgary',
  'consulate',
  "Consulate General of the People's Republic of China in Calgary",
  'Consulat général de la République populaire de Chine à Calgary',
  '中华人民共和国驻卡尔加里总领事馆',
  'Calgary'),
 ('consulate-montreal',
  'consulate',
  "Consulate General of the People's Republic of China in Montréal",
  'Consulat général de la République populaire de Chine à Montréal',
  '中华人民共和国驻蒙特利尔总领事馆',
  'Montréal'),
 ('mss', 'ministry', 'Ministry of State Security', 'Ministère de la Sécurité de l’État', '国家安全部', ''),
 ('mps', 'ministry', 'Ministry of Public Security', 'Ministère de la Sécurité publique', '公安部', ''),
 ('ufwd',
  'party_department',
  'United Front Work Department',
  'Département du travail du Front uni',
  '中共中央统一战线工作部',
  ''),
 ('hk-nsd',
  'security_department',
  'Hong Kong Police National Security Department',
  'Département de la sécurité nationale de la police de Hong Kong',
  '香港警務處國家安全處',
  'Hong Kong'),
 ('proxy-associations',
  'proxy',
  'Proxy community associations (unnamed)',
  'Associations communautaires servant d’intermédiaires (non nommées)',
  '代理社团',
  ''))

CAMPAIGNS = (('harassment-operations',
  'Harassment and influence operations in Canada — expel the officials involved',
  'Opérations de harcèlement et d’influence au Canada — expulser les responsables'),
 ('hong-kong-bounties',
  'Hong Kong bounties on people in Canada (Joe Tay and others)',
  'Primes de Hong Kong visant des personnes au Canada (Joe Tay et d’autres)'),
 ('hong-kong-detained-democrats',
  'Detained Hong Kong democrats (Jimmy Lai, Chow Hang-tung)',
  'Démocrates hongkongais détenus (Jimmy Lai, Chow Hang-tung)'),
 ('huseyin-celil', 'Huseyin Celil', 'Huseyin Celil'),
 ('uyghur-incarceration',
  'Extrajudicial incarceration of Uyghurs',
  'Incarcération extrajudiciaire des Ouïghours'),
 ('wang-bingzhang', 'Dr. Wang Bingzhang', 'Dr Wang Bingzhang'),
 ('falun-gong-families',
  'Families of imprisoned Falun Gong practitioners',
  'Familles de pratiquants de Falun Gong emprisonnés'),
 ('panchen-lama-and-pastors',
  'The Panchen Lama and detained Christian pastors',
  'Le panchen-lama et les pasteurs chrétiens détenus'),
 ('torture', 'Torture', 'Torture'))


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('title_en', sa.String(length=300), nullable=False),
    sa.Column('title_fr', sa.String(length=300), nullable=False),
    sa.Column('description_en', sa.Text(), nullable=False),
    sa.Column('description_fr', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns')),
    sa.UniqueConstraint('slug', name=op.f('uq_campaigns_slug'))
    )
    op.create_table('entities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('name_fr', sa.String(length=200), nullable=False),
    sa.Column('name_zh', sa.String(length=200), nullable=False),
    sa.Column('city', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_entities')),
    sa.UniqueConstraint('slug', name=op.f('uq_entities_slug'))
    )
    op.create_table('people',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name_latin', sa.String(length=200), nullable=False),
    sa.Column('name_chinese', sa.String(length=200), nullable=False),
    sa.Column('aliases', sa.Text(), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('mission_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('rank', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('affiliation_id', sa.Integer(), nullable=True),
    sa.Column('affiliation_basis', sa.Text(), nullable=False),
    sa.Column('requested_action', sa.String(length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("status IN ('diplomatic', 'consular', 'none', 'unknown')", name=op.f('ck_people_status')),
    sa.ForeignKeyConstraint(['affiliation_id'], ['entities.id'], name=op.f('fk_people_affiliation_id_entities')),
    sa.ForeignKeyConstraint(['mission_id'], ['entities.id'], name=op.f('fk_people_mission_id_entities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_people'))
    )
    op.create_table('dossier_exports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('prepared_by', sa.Integer(), nullable=False),
    sa.Column('signed_by', sa.Integer(), nullable=False),
    sa.Column('exported_by', sa.Integer(), nullable=False),
    sa.Column('format', sa.String(length=8), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_dossier_exports_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dossier_exports'))
    )
    with op.batch_alter_table('dossier_exports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dossier_exports_person_id'), ['person_id'], unique=False)

    op.create_table('dossier_signoffs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('prepared_by', sa.Integer(), nullable=False),
    sa.Column('signed_by', sa.Integer(), nullable=True),
    sa.Column('signed_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_dossier_signoffs_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dossier_signoffs')),
    sa.UniqueConstraint('person_id', 'version', name='uq_dossier_signoffs_version')
    )
    with op.batch_alter_table('dossier_signoffs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dossier_signoffs_person_id'), ['person_id'], unique=False)

    op.create_table('person_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('snapshot', sa.Text(), nullable=False),
    sa.Column('changed_by', sa.Integer(), nullable=True),
    sa.Column('changed_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_person_versions_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person_versions')),
    sa.UniqueConstraint('person_id', 'version', name='uq_person_versions_version')
    )
    with op.batch_alter_table('person_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_versions_person_id'), ['person_id'], unique=False)

    op.create_table('postings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=True),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['entity_id'], ['entities.id'], name=op.f('fk_postings_entity_id_entities')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_postings_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_postings'))
    )
    with op.batch_alter_table('postings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_postings_person_id'), ['person_id'], unique=False)

    op.create_table('public_sources',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('address', sa.String(length=500), nullable=False),
    sa.Column('published_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_public_sources_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_public_sources'))
    )
    with op.batch_alter_table('public_sources', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_public_sources_person_id'), ['person_id'], unique=False)

    op.create_table('campaign_links',
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_links_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_campaign_links_report_id_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('report_id', 'campaign_id', name=op.f('pk_campaign_links'))
    )
    with op.batch_alter_table('campaign_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_links_campaign_id'), ['campaign_id'], unique=False)

    op.create_table('incident_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('entity_id', sa.Integer(), nullable=True),
    sa.Column('involvement', sa.String(length=32), nullable=False),
    sa.Column('confidence', sa.String(length=16), nullable=False),
    sa.Column('basis', sa.String(length=32), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("basis IN ('reporter_identified', 'staff_corroborated', 'documentary_evidence', 'public_source')", name=op.f('ck_incident_links_basis')),
    sa.CheckConstraint("confidence IN ('confirmed', 'likely', 'possible')", name=op.f('ck_incident_links_confidence')),
    sa.CheckConstraint("involvement IN ('directly_carried_out', 'gave_orders', 'planned', 'suspected')", name=op.f('ck_incident_links_involvement')),
    sa.CheckConstraint('(person_id IS NULL) <> (entity_id IS NULL)', name=op.f('ck_incident_links_one_target')),
    sa.ForeignKeyConstraint(['entity_id'], ['entities.id'], name=op.f('fk_incident_links_entity_id_entities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_incident_links_person_id_people'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_incident_links_report_id_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_links')),
    sa.UniqueConstraint('report_id', 'entity_id', name='uq_incident_links_report_entity'),
    sa.UniqueConstraint('report_id', 'person_id', name='uq_incident_links_report_person')
    )
    with op.batch_alter_table('incident_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_links_entity_id'), ['entity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_incident_links_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_incident_links_report_id'), ['report_id'], unique=False)

    entities = sa.table("entities", sa.column("slug"), sa.column("kind"), sa.column("name_en"),
                        sa.column("name_fr"), sa.column("name_zh"), sa.column("city"))
    op.bulk_insert(entities, [
        dict(zip(("slug", "kind", "name_en", "name_fr", "name_zh", "city"), row, strict=True)) for row in ENTITIES
    ])
    campaigns = sa.table("campaigns", sa.column("slug"), sa.column("title_en"), sa.column("title_fr"),
                         sa.column("description_en"), sa.column("description_fr"))
    op.bulk_insert(campaigns, [
        {"slug": slug, "title_en": en, "title_fr": fr, "description_en": "", "description_fr": ""}
        for slug, en, fr in CAMPAIGNS
    ])


def downgrade():
    with op.batch_alter_table('incident_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_links_report_id'))
        batch_op.drop_index(batch_op.f('ix_incident_links_person_id'))
        batch_op.drop_index(batch_op.f('ix_incident_links_entity_id'))

    op.drop_table('incident_links')
    with op.batch_alter_table('campaign_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_links_campaign_id'))

    op.drop_table('campaign_links')
    with op.batch_alter_table('public_sources', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_public_sources_person_id'))

    op.drop_table('public_sources')
    with op.batch_alter_table('postings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_postings_person_id'))

    op.drop_table('postings')
    with op.batch_alter_table('person_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_versions_person_id'))

    op.drop_table('person_versions')
    with op.batch_alter_table('dossier_signoffs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dossier_signoffs_person_id'))

    op.drop_table('dossier_signoffs')
    with op.batch_alter_table('dossier_exports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dossier_exports_person_id'))

    op.drop_table('dossier_exports')
    op.drop_table('people')
    op.drop_table('entities')
    op.drop_table('campaigns')
