"""Creating API clients: the key is returned once, only its SHA-256 is stored."""

import secrets

from app.extensions import db
from app.transactions import write_in_savepoint

from .models import KEY_TAG, PREFIX_LENGTH, SECRET_BYTES, Client, hash_client_key

PREFIX_ATTEMPTS = 5


def create_client(name: str) -> tuple[Client, str]:
    """A new client named `name` and its key, which is returned here and never again."""
    for _ in range(PREFIX_ATTEMPTS):
        prefix = KEY_TAG + secrets.token_hex((PREFIX_LENGTH - len(KEY_TAG)) // 2)
        key = f"{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
        client = Client(name=name, key_prefix=prefix, key_hash=hash_client_key(key))
        # Two clients may draw the same 48-bit prefix: the unique index refuses, draw again.
        if write_in_savepoint(lambda: db.session.add(client)) is None:  # noqa: B023
            return client, key
    raise RuntimeError("could not draw an unused client key prefix")
