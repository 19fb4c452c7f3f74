"""Where webhooks may send: a webhook is a request the server makes on a user's behalf, and its
attempt log shows the first 1,000 characters of the answer, so without limits a developer could
read services that only the server can reach.

Never: link-local addresses (169.254.0.0/16, fe80::/10: where cloud metadata services answer),
unspecified, multicast and reserved ones. Loopback and private networks: allowed unless
`WEBHOOK_ALLOW_PRIVATE=0` (a self-hosted tool often calls its neighbours; shared or cloud
installations should turn it off). A literal address is checked when the webhook is saved;
at each delivery every address the host resolves to is checked, and the connection goes to
those checked addresses (no second lookup for a DNS rebinding to change).
"""

from __future__ import annotations

import ipaddress
import socket

from app.services import webhook_delivery


class Refused(Exception):
    """The target may not be called (the message says why)."""


def allow_private() -> bool:
    return bool(webhook_delivery.setting("WEBHOOK_ALLOW_PRIVATE"))


def refusal(address: str, private_ok: bool | None = None) -> str | None:
    """Why `address` may not be called, or None."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_link_local:
        return "a link-local address (where cloud metadata services answer)"
    if ip.is_unspecified or ip.is_multicast:
        return "not a unicast address"
    # Loopback before reserved (::1 lies in a reserved block), reserved before private
    # (Python counts 240.0.0.0/4 as private).
    if (ip.is_loopback or (ip.is_private and not ip.is_reserved)) and not (
            allow_private() if private_ok is None else private_ok):
        return "a loopback or private address (WEBHOOK_ALLOW_PRIVATE=0)"
    if ip.is_reserved and not ip.is_loopback:
        return "a reserved address"
    return None


def literal_refusal(host: str) -> str | None:
    """For a host written as an IP address: why it may not be called; names are checked when
    they are resolved, at delivery."""
    try:
        return refusal(host)
    except ValueError:
        return None


def resolve(host: str, port: int) -> list[str]:
    """The addresses of `host`, all checked; Refused if it has none or any may not be called."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Refused(f"cannot resolve {host}: {exc}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise Refused(f"cannot resolve {host}")
    for address in addresses:
        reason = refusal(address)
        if reason:
            raise Refused(f"{host} is {address}: {reason}")
    return addresses


def connect(addresses: list[str], port: int, timeout: float | None,
            source: tuple[str, int] | None = None) -> socket.socket:
    """A TCP connection to the first of the checked `addresses` that answers."""
    error: OSError | None = None
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout, source)
        except OSError as exc:
            error = exc
    raise error or OSError(f"no address to connect to on port {port}")
