"""The health service's answers (documented shapes: the views build them as dicts)."""

from marshmallow import Schema, fields


class HealthOutput(Schema):
    """The process is alive: the release it runs and its pid."""

    status = fields.String(metadata={"enum": ["ok"]})
    version = fields.String()
    pid = fields.Integer()


class ReadinessOutput(Schema):
    """The database and the broker answer."""

    status = fields.String(metadata={"enum": ["ready"]})
    checks = fields.Dict(keys=fields.String(), values=fields.String(metadata={"enum": ["ok"]}))
