"""A webhook paused by its receiver's Retry-After: the deliveries made meanwhile arrive as the
pause ends, not at the next sweep (a worker whose sweep comes too late to be seen). And the
SSRF guard of this folder's app, which allows private targets for the receiver."""

import pytest

from tests.helpers import client_key_headers
from tests.polling import wait_until
from tests.webhooks.receiver import Reply

from .support import author_headers, create_article, stored_delivery, webhook_paused_until

pytestmark = pytest.mark.system


@pytest.mark.parametrize("worker", ["redis no sweep"], indirect=True)
def test_when_a_paused_webhook_recovers_its_waiting_deliveries_arrive_as_the_pause_ends(
    real_app, worker, hook, receiver
):
    # The only attempt at the first delivery fails for good, and pauses the webhook for 1 s.
    receiver.script(hook.path, Reply(503, {"Retry-After": "1"}))
    headers = author_headers(real_app)
    create_article(real_app, headers=headers)
    [failed] = receiver.wait_for(hook.path, timeout=5)
    paused_until = wait_until(
        lambda: (
            stored_delivery(real_app, failed.headers["webhook-id"]).status == "failed"
            and webhook_paused_until(real_app, hook.id)
        ),
        5,
        "the webhook to be paused",
    )

    # Made while the webhook is paused: they wait for the end of the pause (the receiver is
    # answering 200 again by then), not for the sweep.
    create_article(real_app, headers=headers)
    create_article(real_app, headers=headers)

    _, *waited = receiver.wait_for(hook.path, count=3, timeout=5)
    lateness = [received.at - paused_until.timestamp() for received in waited]
    print("after the end of the pause: " + ", ".join(f"{late * 1000:.0f} ms" for late in lateness))
    assert all(-0.1 < late < 1.0 for late in lateness), lateness


def test_private_targets_are_refused(real_app, monkeypatch):
    monkeypatch.setitem(real_app.config, "WEBHOOK_ALLOW_PRIVATE_TARGETS", False)
    with real_app.app_context():
        headers = client_key_headers("ssrf")

    response = real_app.test_client().post(
        "/api/webhooks",
        json={"webhook": {"url": "http://127.0.0.1:6379/", "events": ["article.created"]}},
        headers=headers,
    )

    assert response.status_code == 422
    assert "loopback address 127.0.0.1" in response.get_json()["errors"]["url"][0]
