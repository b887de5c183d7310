"""Column types shared by the services' models."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, String, Text
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import MappedColumn, mapped_column
from sqlalchemy.types import TypeDecorator


def exact_string(length: int) -> String:
    """A VARCHAR that compares exactly (case and accents) on every database, MariaDB included."""
    return String(length).with_variant(
        mysql.VARCHAR(length, charset="utf8mb4", collation="utf8mb4_bin"), "mysql", "mariadb"
    )


# Long text (article and comment bodies): MariaDB's TEXT holds only 64 KiB of *bytes*, which
# 64 Ki characters of UTF-8 can exceed; MEDIUMTEXT holds 16 MiB.
LongText = Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")


def cascading_key(column: str, **options: Any) -> MappedColumn[Any]:
    """A foreign key to `column` ("users.id"), deleted with the row it names."""
    return mapped_column(ForeignKey(column, ondelete="CASCADE"), **options)


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp stored as naive UTC (microseconds kept) and read back timezone-aware."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name in {"mysql", "mariadb"}:
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("UTCDateTime needs a timezone-aware datetime")
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is not None:
            value = value.replace(tzinfo=UTC)
        return value
