"""fleet_lock: one holder at a time across processes and hosts (a named lock of MariaDB)."""

import pytest

from app.extensions import db
from app.locks import fleet_lock


@pytest.fixture(autouse=True)
def database():
    """No transactional fixture: the lock takes connections of its own from the real engine."""


def test_a_lock_has_one_holder_at_a_time_and_is_free_again_after(app):
    with app.app_context():
        if db.engine.dialect.name != "mysql":
            pytest.skip("SQLite serves one host: the lock is always taken")
        name = "conduit.test.fleet-lock"
        # The second takes another connection, as another host would.
        with fleet_lock(name) as first, fleet_lock(name) as second:
            assert (first, second) == (True, False)
        with fleet_lock(name) as again:
            assert again is True
