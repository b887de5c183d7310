"""The schema comes only from the migrations, and they agree with the models."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from app.extensions import MIGRATIONS_FOLDER, db


def test_migrations_and_models_agree(database):
    context = MigrationContext.configure(
        database, opts={"compare_type": True, "render_as_batch": True}
    )

    assert compare_metadata(context, db.metadata) == []


def test_the_migrations_have_a_single_head():
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_FOLDER))

    assert len(ScriptDirectory.from_config(config).get_heads()) == 1
