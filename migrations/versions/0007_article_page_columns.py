"""article page columns

What every page of articles shows, kept on the article in the transaction that changes it
(blueprints/articles/services.py): `favorites_count`, how many users favorite it, and
`tag_list`, its tag names as a JSON array in the order given. A page then reads them off the
article's row instead of counting favorites and aggregating tags for each article.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 18:10:00.000000

"""
import json
from itertools import groupby

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('favorites_count', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('tag_list', sa.Text(), server_default='[]', nullable=False))
    op.execute(
        'UPDATE articles SET favorites_count = '
        '(SELECT COUNT(*) FROM favorites WHERE favorites.article_id = articles.id)'
    )
    connection = op.get_bind()
    tagged = connection.execute(sa.text(
        'SELECT article_tags.article_id, tags.name FROM article_tags '
        'JOIN tags ON tags.id = article_tags.tag_id '
        'ORDER BY article_tags.article_id, article_tags.position'
    ))
    rows = [
        {'id': article_id, 'tag_list': json.dumps([name for _, name in names], ensure_ascii=False)}
        for article_id, names in groupby(tagged, key=lambda row: row[0])
    ]
    if rows:
        connection.execute(
            sa.text('UPDATE articles SET tag_list = :tag_list WHERE id = :id'), rows
        )


def downgrade():
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.drop_column('tag_list')
        batch_op.drop_column('favorites_count')
