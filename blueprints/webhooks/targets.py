"""Where webhooks may be delivered: http(s) URLs whose host resolves only to public addresses.

Checked when a webhook is registered or changed, and again on every connection a delivery
opens: the host is resolved, every address checked, and the socket connects to a checked
address only (TLS and Host still name the host). A host name that resolves to a public address
at registration and to 127.0.0.1 later (DNS rebinding) is refused before any packet leaves, so
no answer tells a client which private ports are open.
"""

import ipaddress
import socket
import threading
import time
from urllib.parse import urlsplit, urlunsplit

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

URL_MAX_LENGTH = 2048
SCHEMES = {"http", "https"}

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(Exception):
    """A webhook URL that must not be called: says why, for the client to read."""


def address_refused(address: IPAddress) -> str | None:
    """Why `address` is no place for a webhook (loopback, private, ...), or None if public."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo or (None, None))[1]
        if embedded is not None:
            return address_refused(embedded)
    # Most specific first: Python counts link-local and unspecified addresses as private too.
    kinds = ("loopback", "link_local", "multicast", "unspecified", "reserved", "private")
    for kind in kinds:
        if getattr(address, f"is_{kind}"):
            return f"{kind.replace('_', '-')} address {address}"
    # fec0::/10 (site-local, deprecated) counts as global for Python, yet routes privately.
    if not address.is_global or getattr(address, "is_site_local", False):
        return f"non-public address {address}"
    return None


def loggable_url(url: str) -> str:
    """`url` without its user info and query (and fragment): they may carry credentials."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc.rpartition("@")[2]
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    except ValueError:
        return "(an invalid URL)"


def split_target(url: str) -> tuple[str, str, int]:
    """Scheme, host and port of a webhook URL; TargetRefused when it is not a plain http(s) URL."""
    if len(url) > URL_MAX_LENGTH:
        raise TargetRefused(f"must be at most {URL_MAX_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise TargetRefused("is not a valid URL") from None
    if parts.scheme.lower() not in SCHEMES:
        raise TargetRefused("must be an http or https URL")
    if not parts.hostname:
        raise TargetRefused("must name a host")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("must not contain a user name or password")
    if any(character.isspace() or ord(character) < 32 for character in url):
        raise TargetRefused("must not contain spaces or control characters")
    scheme = parts.scheme.lower()
    return scheme, parts.hostname, port or (443 if scheme == "https" else 80)


def resolve(host: str, port: int, timeout: float | None = None) -> list[IPAddress]:
    """Every address `host` resolves to; TargetRefused when it resolves to none. OSError when
    the resolver cannot say now (no answer within `timeout` seconds, a temporary failure): not
    the host's fault, a delivery tries again later."""
    try:
        infos = getaddrinfo_within(host, port, timeout)
    except TimeoutError:
        raise
    except socket.gaierror as error:
        if error.errno == socket.EAI_AGAIN:
            raise
        raise TargetRefused(f"host {host!r} does not resolve") from None
    except (UnicodeError, OSError):
        raise TargetRefused(f"host {host!r} does not resolve") from None
    addresses = {ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos}
    if not addresses:
        raise TargetRefused(f"host {host!r} does not resolve")
    return sorted(addresses, key=str)


def getaddrinfo_within(host: str, port: int, timeout: float | None) -> list:
    """`socket.getaddrinfo` for a stream socket, given up after `timeout` seconds (TimeoutError).

    The resolver cannot be interrupted: it runs in a thread of its own, left to finish alone
    when its time is up (the system resolver has timeouts of its own).
    """
    if timeout is None or _is_address(host):
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    answer: dict = {}
    answered = threading.Event()

    def lookup() -> None:
        try:
            answer["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except BaseException as error:  # handed to the waiting thread
            answer["error"] = error
        finally:
            answered.set()

    threading.Thread(target=lookup, name=f"resolve {host}", daemon=True).start()
    if not answered.wait(timeout):
        raise TimeoutError(f"resolving {host!r} took more than {timeout:g} s")
    if "error" in answer:
        raise answer["error"]
    return answer["infos"]


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def check_target(url: str, allow_private: bool) -> None:
    """Refuse (TargetRefused) a URL that is not http(s) or whose host has a non-public address."""
    _, host, port = split_target(url)
    if allow_private:
        return
    try:
        addresses = resolve(host, port)
    except OSError:
        raise TargetRefused(f"host {host!r} cannot be resolved right now: try again") from None
    for address in addresses:
        reason = address_refused(address)
        if reason is not None:
            raise TargetRefused(f"host {host!r} resolves to a {reason}, which is not allowed")


def checked_address(host: str, port: int, timeout: float | None = None) -> str:
    """The address to connect to for `host`: resolved once (within `timeout`), every address
    checked; refused (TargetRefused) before any connection when one of them is not public."""
    addresses = resolve(host, port, timeout)
    for address in addresses:
        reason = address_refused(address)
        if reason is not None:
            raise TargetRefused(f"host {host!r} resolves to a {reason}, which is not allowed")
    return str(addresses[0])


def check_connected_peer(sock: socket.socket, host: str) -> None:
    """Refuse a socket connected to a non-public address (closing it)."""
    peer = sock.getpeername()[0]
    reason = address_refused(ipaddress.ip_address(peer.split("%", 1)[0]))
    if reason is not None:
        sock.close()
        raise TargetRefused(f"host {host!r} resolves to a {reason}, which is not allowed")


def pinned_connection(connection: HTTPConnection, connect) -> socket.socket:
    """Connect `connection` to its host's checked address only; SNI and Host keep the name.

    Resolving the name and connecting share the connection's timeout, as one connect step.
    """
    timeout = connection.timeout if isinstance(connection.timeout, int | float) else None
    started = time.monotonic()
    # urllib3 resolves `_dns_host` when it connects: an address literal resolves to itself.
    connection._dns_host = checked_address(connection.host, connection.port, timeout)  # type: ignore[attr-defined]
    if timeout is not None:
        connection.timeout = max(timeout - (time.monotonic() - started), 0.001)
    sock = connect()
    check_connected_peer(sock, connection.host)
    return sock


class GuardedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return pinned_connection(self, super()._new_conn)


class GuardedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        return pinned_connection(self, super()._new_conn)


class GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


GUARDED_POOL_CLASSES = {"http": GuardedHTTPConnectionPool, "https": GuardedHTTPSConnectionPool}
