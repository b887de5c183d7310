"""The attempt's wall-clock deadline holds in every step: a name slow to resolve, a TLS
handshake or an answer over TLS that trickles in. A resolver that cannot answer now is not
the receiver's fault: the delivery is tried again."""

import socket
import threading

import pytest

from app.extensions import db
from blueprints.webhooks.delivery import attempt_delivery
from blueprints.webhooks.models import DeliveryAttempt
from tests.helpers import client_key_headers
from tests.webhooks.receiver import TLSTrickler
from tests.webhooks.support import self_signed_certificate
from tests.webhooks.test_delivery import make_delivery, refreshed

DEADLINE = 0.5
MARGIN = 0.5  # the timer, the thread switch, a busy machine
NAME = "receiver.test"  # a host name only the slow resolver knows


@pytest.fixture(autouse=True)
def short_deadline(app, monkeypatch):
    """A 0.5 s deadline, shorter than the connect timeout; each read waits longer than a byte
    (or a TLS record) takes to come."""
    monkeypatch.setitem(app.config, "WEBHOOK_ATTEMPT_DEADLINE_SECONDS", DEADLINE)
    monkeypatch.setitem(app.config, "WEBHOOK_CONNECT_TIMEOUT_SECONDS", 5)
    monkeypatch.setitem(app.config, "WEBHOOK_READ_TIMEOUT_SECONDS", 0.25)


@pytest.fixture
def slow_resolver(monkeypatch):
    """`slow_resolver(seconds, error)`: the system's resolver answers for NAME only after
    `seconds`: 127.0.0.1, or the resolver error `error` (socket.EAI_*). No DNS server of the
    test's own can be slow here; every other name resolves as usual."""
    getaddrinfo = socket.getaddrinfo
    test_over = threading.Event()

    def slow(seconds: float, error: int | None = None) -> None:
        def slow_getaddrinfo(host, *args, **kwargs):
            if host != NAME:
                return getaddrinfo(host, *args, **kwargs)
            test_over.wait(seconds)
            if error is not None:
                raise socket.gaierror(error, "resolver error")
            return getaddrinfo("127.0.0.1", *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", slow_getaddrinfo)

    yield slow
    test_over.set()


@pytest.fixture
def guarded(app, monkeypatch):
    """Connections guarded against private targets, as in production."""
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE_TARGETS", False)


@pytest.fixture
def trusted_certificate(app, tmp_path, monkeypatch):
    """A self-signed certificate for 127.0.0.1 and NAME, trusted the way an operator trusts a
    private CA (WEBHOOK_CA_FILE); (certificate, key) files."""
    certificate, key = self_signed_certificate(tmp_path, NAME)
    monkeypatch.setitem(app.config, "WEBHOOK_CA_FILE", str(certificate))
    return certificate, key


def only_attempt(delivery) -> DeliveryAttempt:
    [attempt] = db.session.scalars(db.select(DeliveryAttempt).filter_by(delivery_id=delivery.id))
    return attempt


def attempt_against(trickler: TLSTrickler, url: str):
    delivery = make_delivery(url)
    try:
        outcome = attempt_delivery(delivery.message_id)
        assert trickler.hung_up.wait(MARGIN)  # cut by the sender, not given up by the trickler
    finally:
        trickler.close()
    assert outcome.status == "pending"  # retried later
    return only_attempt(delivery), refreshed(delivery)


def assert_cut_at_the_deadline(attempt: DeliveryAttempt) -> None:
    assert attempt.status_code is None and attempt.error.startswith("timed out")
    assert (DEADLINE - 0.1) * 1000 <= attempt.duration_ms < (DEADLINE + MARGIN) * 1000


@pytest.mark.usefixtures("private_targets")
def test_a_tls_handshake_that_trickles_is_cut_at_the_deadline(trusted_certificate, slow_resolver):
    # The name takes most of the time to resolve: the handshake begins late in the attempt.
    slow_resolver(0.4)
    trickler = TLSTrickler(*trusted_certificate, trickled="handshake")

    attempt, delivery = attempt_against(trickler, trickler.url("/hook").replace("127.0.0.1", NAME))

    assert_cut_at_the_deadline(attempt)
    assert delivery.last_error == attempt.error


@pytest.mark.usefixtures("private_targets")
def test_an_answer_over_tls_that_trickles_is_cut_at_the_deadline(trusted_certificate):
    trickler = TLSTrickler(*trusted_certificate, trickled="answer")

    attempt, delivery = attempt_against(trickler, trickler.url("/hook"))

    assert_cut_at_the_deadline(attempt)
    assert attempt.error == delivery.last_error == "timed out after 0.5 s"


@pytest.mark.usefixtures("guarded")
def test_a_name_that_never_resolves_ends_the_attempt_at_the_deadline(slow_resolver):
    slow_resolver(10, socket.EAI_AGAIN)
    delivery = make_delivery(f"https://{NAME}/hook")

    outcome = attempt_delivery(delivery.message_id)

    assert outcome.status == "pending"
    attempt = only_attempt(delivery)
    assert attempt.status_code is None and attempt.error.startswith("timed out")
    assert attempt.duration_ms < (DEADLINE + MARGIN) * 1000


@pytest.mark.usefixtures("guarded")
def test_a_resolver_failing_for_now_is_tried_again_later(slow_resolver):
    slow_resolver(0, socket.EAI_AGAIN)  # "Temporary failure in name resolution"
    delivery = make_delivery(f"https://{NAME}/hook")

    outcome = attempt_delivery(delivery.message_id)

    assert outcome.status == "pending" and outcome.retry_in is not None
    assert refreshed(delivery).last_error.startswith("connection failed")


@pytest.mark.usefixtures("guarded")
def test_a_name_that_does_not_exist_is_refused_for_good(slow_resolver):
    slow_resolver(0, socket.EAI_NONAME)
    delivery = make_delivery(f"https://{NAME}/hook")

    outcome = attempt_delivery(delivery.message_id)

    assert outcome.status == "failed"
    assert refreshed(delivery).last_error == f"refused: host '{NAME}' does not resolve"


@pytest.mark.usefixtures("guarded")
def test_a_webhook_registered_while_the_resolver_fails_is_refused_for_now(client, slow_resolver):
    slow_resolver(0, socket.EAI_AGAIN)

    response = client.post(
        "/api/webhooks",
        json={"webhook": {"url": f"https://{NAME}/hook", "events": ["article.created"]}},
        headers=client_key_headers(),
    )

    assert response.status_code == 422
    assert response.get_json()["errors"]["url"] == [
        f"host '{NAME}' cannot be resolved right now: try again"
    ]
