"""The schema comes only from the migrations, and they agree with the models.

Alembic is imported in the tests: every pytest worker imports this module, and Alembic loads
every SQLAlchemy dialect (0.2 s of CPU)."""

from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from app import create_app
from app.extensions import MIGRATIONS_FOLDER, db
from tests.databases import create_database, database_exists, drop_database


def test_migrations_and_models_agree(database):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    context = MigrationContext.configure(
        database, opts={"compare_type": True, "render_as_batch": True}
    )

    assert compare_metadata(context, db.metadata) == []


def test_the_migrations_have_a_single_head():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_FOLDER))

    assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def test_every_migration_downgrades_and_upgrades_again(app, monkeypatch, tmp_path):
    """On a scratch database of the same kind: head, down to nothing, head again, no drift."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from flask_migrate import downgrade, upgrade

    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    mysql = url.get_backend_name() == "mysql"
    if mysql:
        url = url.set(database=f"{url.database}_migrations")
    else:
        url = url.set(database=str(tmp_path / "migrations.sqlite"))
    if database_exists(url):
        drop_database(url)
    create_database(url)
    monkeypatch.setenv("TEST_DATABASE_URL", url.render_as_string(hide_password=False))
    scratch = create_app("test")
    try:
        with scratch.app_context():
            upgrade()
            downgrade(revision="base")
            assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
            upgrade()
            with db.engine.connect() as connection:
                context = MigrationContext.configure(connection, opts={"compare_type": True})
                assert compare_metadata(context, db.metadata) == []
            db.engine.dispose()
    finally:
        drop_database(url)
