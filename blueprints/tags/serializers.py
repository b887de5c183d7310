"""The tags list, as the RealWorld API answers it."""

from marshmallow import Schema, fields


class TagsOutput(Schema):
    tags = fields.List(fields.String())
