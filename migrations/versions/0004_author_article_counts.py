"""author article counts

How many articles each author has, kept by triggers on `articles`, so that the total of the
unfiltered article list is a sum over authors instead of a count of every article, and stays
exact whatever writes the articles (the API, a bulk load, plain SQL). A user deleted with their
articles takes their row along (foreign key cascade), which also covers MariaDB, where
cascaded deletes fire no trigger.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 17:13:52.929607

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

TRIGGERS = (
    'articles_count_insert',
    'articles_count_delete',
    'articles_count_author_change',
)

MARIADB_TRIGGERS = [
    """
    CREATE TRIGGER articles_count_insert AFTER INSERT ON articles FOR EACH ROW
    INSERT INTO author_article_counts (author_id, articles) VALUES (NEW.author_id, 1)
    ON DUPLICATE KEY UPDATE articles = articles + 1
    """,
    """
    CREATE TRIGGER articles_count_delete AFTER DELETE ON articles FOR EACH ROW
    UPDATE author_article_counts SET articles = articles - 1 WHERE author_id = OLD.author_id
    """,
    """
    CREATE TRIGGER articles_count_author_change AFTER UPDATE ON articles FOR EACH ROW
    BEGIN
        IF NEW.author_id <> OLD.author_id THEN
            UPDATE author_article_counts SET articles = articles - 1
            WHERE author_id = OLD.author_id;
            INSERT INTO author_article_counts (author_id, articles) VALUES (NEW.author_id, 1)
            ON DUPLICATE KEY UPDATE articles = articles + 1;
        END IF;
    END
    """,
]

SQLITE_TRIGGERS = [
    """
    CREATE TRIGGER articles_count_insert AFTER INSERT ON articles
    BEGIN
        INSERT INTO author_article_counts (author_id, articles) VALUES (NEW.author_id, 1)
        ON CONFLICT (author_id) DO UPDATE SET articles = articles + 1;
    END
    """,
    """
    CREATE TRIGGER articles_count_delete AFTER DELETE ON articles
    BEGIN
        UPDATE author_article_counts SET articles = articles - 1
        WHERE author_id = OLD.author_id;
    END
    """,
    """
    CREATE TRIGGER articles_count_author_change AFTER UPDATE OF author_id ON articles
    WHEN NEW.author_id <> OLD.author_id
    BEGIN
        UPDATE author_article_counts SET articles = articles - 1
        WHERE author_id = OLD.author_id;
        INSERT INTO author_article_counts (author_id, articles) VALUES (NEW.author_id, 1)
        ON CONFLICT (author_id) DO UPDATE SET articles = articles + 1;
    END
    """,
]


def upgrade():
    op.create_table('author_article_counts',
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('articles', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_author_article_counts_author_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('author_id', name=op.f('pk_author_article_counts'))
    )
    op.execute(
        'INSERT INTO author_article_counts (author_id, articles) '
        'SELECT author_id, COUNT(*) FROM articles GROUP BY author_id'
    )
    sqlite = op.get_bind().dialect.name == 'sqlite'
    for trigger in SQLITE_TRIGGERS if sqlite else MARIADB_TRIGGERS:
        op.execute(trigger)


def downgrade():
    for trigger in TRIGGERS:
        op.execute(f'DROP TRIGGER IF EXISTS {trigger}')
    op.drop_table('author_article_counts')
