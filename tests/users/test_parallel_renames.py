"""Users renaming themselves to one name at once, on MariaDB: one wins, every other gets the
422 "has already been taken", never a 500. The requests commit for real, in threads."""

import uuid

import pytest
from sqlalchemy import delete

from app.extensions import db
from blueprints.users.models import User
from tests.concurrency import committing_for_real, in_parallel
from tests.factories import make_user
from tests.helpers import auth_headers

RENAMERS = 10


@pytest.mark.parametrize("field", ["username", "email"])
def test_parallel_renames_to_one_value_give_one_200_and_422s(app, field):
    run = uuid.uuid4().hex[:8]
    wanted = {"username": f"wanted-{run}", "email": f"wanted-{run}@example.com"}[field]
    with committing_for_real(app):
        with app.app_context():
            users = [make_user(username=f"renamer-{run}-{n}") for n in range(RENAMERS)]
            headers = [auth_headers(user) for user in users]

        def rename(index: int):
            response = app.test_client().put(
                "/api/user", json={"user": {field: wanted}}, headers=headers[index]
            )
            return response.status_code, response.get_json()

        try:
            responses = in_parallel(RENAMERS, rename)
        finally:
            with app.app_context():
                db.session.execute(delete(User).where(User.username.like(f"renamer-{run}-%")))
                db.session.execute(delete(User).where(User.username == wanted))
                db.session.commit()

    statuses = sorted(status for status, _ in responses)
    assert statuses == [200] + [422] * (RENAMERS - 1), responses
    for status, body in responses:
        if status == 422:
            assert body == {"errors": {field: ["has already been taken"]}}
