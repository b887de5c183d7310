"""Parallel test runs: each pytest-xdist worker process has a test database of its own."""

import os

from sqlalchemy.engine import make_url

from tests.conftest import worker_database_url


def test_each_worker_has_a_mariadb_database_named_after_the_runs():
    url = make_url("mysql+pymysql://root@127.0.0.1:3306/conduit_test?charset=utf8mb4")

    own = worker_database_url(url, "gw1")

    assert own.render_as_string() == (
        "mysql+pymysql://root@127.0.0.1:3306/conduit_test_gw1?charset=utf8mb4"
    )


def test_each_worker_has_an_sqlite_file_beside_the_runs():
    url = make_url("sqlite:////srv/conduit/instance/test.sqlite")

    assert worker_database_url(url, "gw0").database == "/srv/conduit/instance/test_gw0.sqlite"


def test_the_app_uses_the_database_of_this_worker(app):
    database = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database
    worker = os.environ.get("PYTEST_XDIST_WORKER")

    if worker:
        assert database.removesuffix(".sqlite").endswith(f"_{worker}")
    else:
        assert "_gw" not in database
