"""The slow route the deploy tests load is theirs: Conduit itself serves no test route."""

from tests.deploy.slow_app import SLOW_PATH


def test_conduit_serves_no_test_route(app, client):
    routes = [rule.rule for rule in app.url_map.iter_rules()]

    assert [route for route in routes if route.startswith("/_test")] == []
    assert client.get(SLOW_PATH).status_code == 404
