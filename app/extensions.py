"""The shared extensions, created once and unbound; `create_app` binds them."""

from functools import cached_property
from pathlib import Path

from celery import Celery
from flask import Flask
from flask_cors import CORS
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from .sessions import RoutingSession

# Named constraints, so migrations can alter them on every database (SQLite batch mode too).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Model(DeclarativeBase):
    """Base of every model: typed SQLAlchemy 2 declarative with named constraints."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Migrations:
    """Flask-Migrate, made when a process first migrates: Flask-Migrate imports Alembic, which
    imports every SQLAlchemy dialect (~0.2 s of CPU in each process that loads the app), and web
    and Celery processes never migrate. `init_app` leaves in `app.extensions["migrate"]` what
    Flask-Migrate's own would (its commands and migrations/env.py read `migrate`, `db`,
    `directory` and `configure_args`); the `db` commands are app/cli.py's."""

    def __init__(self, directory: str, **configure_args) -> None:
        self.directory = directory
        self.configure_args = configure_args
        self.db: SQLAlchemy | None = None

    def init_app(self, app: Flask, db: SQLAlchemy) -> None:
        self.db = db
        app.extensions["migrate"] = self

    @cached_property
    def migrate(self):
        """The one flask_migrate.Migrate."""
        from flask_migrate import Migrate

        return Migrate(db=self.db, directory=self.directory, **self.configure_args)


MIGRATIONS_FOLDER = Path(__file__).resolve().parent.parent / "migrations"

db = SQLAlchemy(model_class=Model, session_options={"class_": RoutingSession})
migrate = Migrations(directory=str(MIGRATIONS_FOLDER), render_as_batch=True, compare_type=True)
celery = Celery("conduit")
cors = CORS()
