"""The liveness check."""

import os


def test_healthz_reports_the_release_and_pid(client, app):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "version": app.config["RELEASE"],
        "pid": os.getpid(),
    }
