"""Finding API clients: by key (for each request) and by reference (for the commands)."""

import hmac
from collections.abc import Iterable

from app.extensions import db

from .models import KEY_TAG, PREFIX_LENGTH, UNKNOWN_KEY_HASH, Client, hash_client_key


def find_client(key: str) -> Client | None:
    """The client whose key is `key` (revoked or not), comparing hashes in constant time."""
    prefix = key[:PREFIX_LENGTH]
    client = None
    if key.startswith(KEY_TAG) and key[PREFIX_LENGTH : PREFIX_LENGTH + 1] == "_":
        client = db.session.scalar(db.select(Client).filter_by(key_prefix=prefix))
    expected = client.key_hash if client is not None else UNKNOWN_KEY_HASH
    if hmac.compare_digest(expected, hash_client_key(key)) and client is not None:
        return client
    return None


def find_client_by_reference(reference: str) -> Client | None:
    """The client a command names by key prefix (`ck_...`) or by id."""
    reference = reference.strip()
    if reference.startswith(KEY_TAG):
        return db.session.scalar(db.select(Client).filter_by(key_prefix=reference[:PREFIX_LENGTH]))
    if reference.isdigit():
        return db.session.get(Client, int(reference))
    return None


def all_clients() -> Iterable[Client]:
    """Every client, oldest first."""
    return db.session.scalars(db.select(Client).order_by(Client.id))
