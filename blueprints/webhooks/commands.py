"""Commands of the webhooks service: `manage.py reencrypt-webhook-secrets`."""

import click
from flask.cli import with_appcontext
from sqlalchemy import select, update

from app.extensions import db

from .models import Webhook
from .secrets import reencrypted

WEBHOOKS = Webhook.__table__
BATCH_SIZE = 500


@click.command("reencrypt-webhook-secrets")
@with_appcontext
def reencrypt_webhook_secrets_command() -> None:
    """Rewrite every webhook secret with the first of WEBHOOK_SECRET_KEYS (after adding a key,
    before removing an old one; plain secrets from before encryption are encrypted too)."""
    count, last_id = 0, 0
    while True:
        rows = db.session.execute(
            select(WEBHOOKS.c.id, WEBHOOKS.c.secret, WEBHOOKS.c.previous_secret)
            .where(WEBHOOKS.c.id > last_id)
            .order_by(WEBHOOKS.c.id)
            .limit(BATCH_SIZE)
        ).all()
        if not rows:
            break
        for row in rows:
            previous = row.previous_secret and reencrypted(row.previous_secret)
            db.session.execute(
                update(WEBHOOKS)
                .where(WEBHOOKS.c.id == row.id, WEBHOOKS.c.secret == row.secret)
                .values(secret=reencrypted(row.secret), previous_secret=previous)
            )
        db.session.commit()
        count += len(rows)
        last_id = rows[-1].id
    click.echo(f"re-encrypted the secrets of {count} webhooks with the first key")


webhook_commands = [reencrypt_webhook_secrets_command]
