"""sorted tag lists

Every answer shows an article's tags sorted by name, and the services keep them so (the
`tag_list` column and the `position` of `article_tags`); this sorts the rows written before.
Data only: the schema does not change.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 21:10:00.000000

"""
import json
from itertools import groupby

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    connection = op.get_bind()
    tagged = connection.execute(sa.text(
        'SELECT article_tags.article_id, tags.name, tags.id FROM article_tags '
        'JOIN tags ON tags.id = article_tags.tag_id ORDER BY article_tags.article_id'
    ))
    lists, positions = [], []
    for article_id, rows in groupby(tagged, key=lambda row: row[0]):
        names = sorted((name, tag_id) for _, name, tag_id in rows)
        lists.append({
            'id': article_id,
            'tag_list': json.dumps([name for name, _ in names], ensure_ascii=False,
                                   separators=(',', ':')),
        })
        positions += [
            {'article_id': article_id, 'tag_id': tag_id, 'position': position}
            for position, (_, tag_id) in enumerate(names)
        ]
    if lists:
        connection.execute(sa.text('UPDATE articles SET tag_list = :tag_list WHERE id = :id'), lists)
        connection.execute(sa.text(
            'UPDATE article_tags SET position = :position '
            'WHERE article_id = :article_id AND tag_id = :tag_id'
        ), positions)


def downgrade():
    pass  # the earlier order is not kept, and any order was valid before
