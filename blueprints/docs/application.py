"""Routes of the docs service: the OpenAPI document, and Swagger UI rendering it."""

from importlib.resources import files

from flask import Blueprint, current_app, jsonify, render_template, send_from_directory

from app.openapi import documents, openapi_document

from .serializers import OpenAPIDocumentOutput

blueprint = Blueprint("docs", __name__, template_folder="templates")

# Swagger UI's files, as the flask-swagger-ui package ships them: served by us, no CDN.
SWAGGER_UI_FILES = str(files("flask_swagger_ui") / "dist")


@blueprint.get("/openapi.json")
@documents(output=OpenAPIDocumentOutput)
def get_openapi_document():
    """This document: every route, generated from the views' declarations and schemas."""
    return jsonify(openapi_document(current_app))


@blueprint.get("/docs")
@documents(media_type="text/html")
def get_docs():
    """The API's documentation page: Swagger UI rendering /api/openapi.json."""
    return render_template("docs/swagger_ui.html")


@blueprint.get("/docs/<path:filename>")
@documents(responses={404: "No such file"}, media_type="*/*")
def get_docs_file(filename):
    """A file of the documentation page: Swagger UI's JavaScript, CSS and icons."""
    return send_from_directory(SWAGGER_UI_FILES, filename)
