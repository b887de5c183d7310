"""The shared extensions, created once and unbound; `create_app` binds them."""

from pathlib import Path

from celery import Celery
from flask_cors import CORS
from flask_migrate import Migrate
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


MIGRATIONS_FOLDER = Path(__file__).resolve().parent.parent / "migrations"

db = SQLAlchemy(model_class=Model, session_options={"class_": RoutingSession})
migrate = Migrate(directory=str(MIGRATIONS_FOLDER), render_as_batch=True, compare_type=True)
celery = Celery("conduit")
cors = CORS()
