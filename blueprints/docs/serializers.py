"""The docs service's output: the OpenAPI document (its top-level shape)."""

from marshmallow import INCLUDE, Schema, fields


class OpenAPIDocumentOutput(Schema):
    """An OpenAPI 3.1 document."""

    class Meta:
        unknown = INCLUDE

    openapi = fields.String()
    info = fields.Dict()
    paths = fields.Dict()
    components = fields.Dict()
    tags = fields.List(fields.Dict())
