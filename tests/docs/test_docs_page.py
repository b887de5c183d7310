"""GET /api/docs: Swagger UI, every file of it served by the app itself (no CDN)."""

import re

from flask_swagger_ui import get_swaggerui_blueprint  # noqa: F401  (the package we serve)

ASSET = re.compile(r"""(?:src|href)=["']([^"']+)["']""")


def test_docs_page_loads_only_files_this_app_serves(client):
    response = client.get("/api/docs")

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assets = ASSET.findall(page)
    assert "/api/docs/swagger-ui-bundle.js" in assets
    assert "/api/docs/swagger-ui.css" in assets
    assert '"/api/openapi.json"' in page
    for asset in assets:
        assert asset.startswith("/api/docs/"), asset
        served = client.get(asset)
        assert served.status_code == 200, asset
        assert served.content_length > 0


def test_docs_files_have_their_types(client):
    assert client.get("/api/docs/swagger-ui-bundle.js").mimetype in {
        "text/javascript",
        "application/javascript",
    }
    assert client.get("/api/docs/swagger-ui.css").mimetype == "text/css"


def test_an_unknown_docs_file_is_a_json_404(client):
    for path in ["/api/docs/no-such-file.js", "/api/docs/../openapi.py"]:
        response = client.get(path)
        assert response.status_code == 404
        assert response.get_json() == {"errors": {"body": ["not found"]}}
