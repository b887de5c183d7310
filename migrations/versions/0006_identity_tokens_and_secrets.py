"""identity keys, token generations, exact emails and key prefixes, encrypted webhook secrets

- users.username_key: the look-alike key of each name (blueprints/users/identity.py), unique;
  existing names that already look alike keep working (the later ones get their id appended
  to the key, so only new look-alikes are refused).
- users.token_generation: carried in tokens; raising it revokes every earlier token.
- users.email and clients.key_prefix compare exactly on MariaDB too (utf8mb4_bin: the default
  utf8mb4_general_ci made zoë@ and zoe@ one address); emails are normalised once more
  (domain IDNA-encoded) where that clashes with no other row.
- webhooks.secret holds the encrypted secret (longer), previous_secret and
  previous_secret_until the one that still signs after a rotation. Existing plain secrets are
  encrypted by `manage.py reencrypt-webhook-secrets` (they are read until then).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 18:20:00.000000

"""
import sqlalchemy as sa
import sqlalchemy_utils
from alembic import op
from sqlalchemy.dialects import mysql

import app.types

# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def exact(length):
    return sa.String(length=length).with_variant(
        mysql.VARCHAR(charset='utf8mb4', collation='utf8mb4_bin', length=length), 'mariadb'
    ).with_variant(mysql.VARCHAR(charset='utf8mb4', collation='utf8mb4_bin', length=length), 'mysql')


def fill_username_keys_and_emails(connection):
    from blueprints.users.identity import normalized_email, username_key

    users = sa.table(
        'users', sa.column('id', sa.Integer), sa.column('username', sa.String),
        sa.column('email', sa.String), sa.column('username_key', sa.String),
    )
    rows = connection.execute(sa.select(users.c.id, users.c.username, users.c.email).order_by(users.c.id)).all()
    keys, emails = set(), {row.email for row in rows}
    for row in rows:
        key = username_key(row.username)
        if key in keys:
            key = f'{key}~{row.id}'  # an older look-alike pair: both keep their names
        keys.add(key)
        values = {'username_key': key}
        try:
            email = normalized_email(row.email)
        except ValueError:
            email = row.email
        if email != row.email and email not in emails:
            values['email'] = email
            emails.add(email)
        connection.execute(sa.update(users).where(users.c.id == row.id).values(**values))


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('username_key', exact(255), nullable=True))
        batch_op.add_column(sa.Column('token_generation', sa.Integer(), server_default='0', nullable=False))
        batch_op.alter_column('email',
               existing_type=sqlalchemy_utils.types.email.EmailType(length=254),
               type_=exact(254),
               existing_nullable=False)

    fill_username_keys_and_emails(op.get_bind())

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('username_key', existing_type=exact(255), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_users_username_key'), ['username_key'])

    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.alter_column('key_prefix',
               existing_type=sa.String(length=15),
               type_=exact(15),
               existing_nullable=False)

    with op.batch_alter_table('webhooks', schema=None) as batch_op:
        batch_op.alter_column('secret',
               existing_type=sa.String(length=64),
               type_=sa.String(length=255),
               existing_nullable=False)
        batch_op.add_column(sa.Column('previous_secret', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('previous_secret_until', app.types.UTCDateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('webhooks', schema=None) as batch_op:
        batch_op.drop_column('previous_secret_until')
        batch_op.drop_column('previous_secret')
        batch_op.alter_column('secret',
               existing_type=sa.String(length=255),
               type_=sa.String(length=64),
               existing_nullable=False)

    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.alter_column('key_prefix',
               existing_type=exact(15),
               type_=sa.String(length=15),
               existing_nullable=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_users_username_key'), type_='unique')
        batch_op.alter_column('email',
               existing_type=exact(254),
               type_=sqlalchemy_utils.types.email.EmailType(length=254),
               existing_nullable=False)
        batch_op.drop_column('token_generation')
        batch_op.drop_column('username_key')
