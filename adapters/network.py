"""Where an adapter may connect: never inside the desk's own network, unless the operator allows
it (SSRF). Part of the adapter SDK: adapters that call partners over HTTP use `guarded_client`.

- An address is *internal* when it is loopback, private, link-local (the cloud metadata
  services 169.254.169.254 and fd00:ec2::254 included), shared (carrier-grade NAT, 100.64/10),
  multicast, reserved, unspecified or otherwise not globally routable, or when it carries such
  an IPv4 address inside IPv6 (IPv4-mapped, 6to4, NAT64).
- The operator may allow some networks anyway (`DESK_PARTNER_ALLOWED_NETWORKS`, CIDR list): a
  town's partners on its internal network, the tests' partners on 127.0.0.1. The unspecified
  address (0.0.0.0, ::) is never allowed: it means "this machine" to a connecting socket.
- URLs are checked when configured (address literals in any spelling: `0x7f000001`,
  `2130706433`, `017700000001`, `127.1`, `[::ffff:127.0.0.1]`), and the name is resolved again
  at each call: `GuardedTransport` resolves the host once, keeps only permitted addresses, and
  connects to exactly that address while the `Host` header and the TLS server name (SNI, and
  the certificate check) stay the partner's name. A DNS answer that changes between the check
  and the connection (DNS rebinding) therefore changes nothing.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpx

from adapters.base import PermanentAdapterError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# RFC 6598 carrier-grade NAT: internal, though older Pythons' `is_private` do not say so.
_SHARED = ipaddress.ip_network("100.64.0.0/10")
# RFC 6052 NAT64: the gateway connects to the IPv4 address held in the last 32 bits.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Characters of a numeric IPv4 spelling that inet_aton accepts (decimal, octal, hexadecimal).
_NUMERIC = frozenset("0123456789abcdefxABCDEFX.")
# Names every resolver keeps for this machine (RFC 6761), whatever DNS says.
_LOCAL_NAMES = ("localhost", "localhost.")
_LOOPBACK = ipaddress.ip_address("127.0.0.1")
# Config-time lookups must not hold the back office's page for long: an unknown name is
# checked again at each call anyway.
CONFIG_LOOKUP_SECONDS = 3.0


class BlockedDestination(PermanentAdapterError):
    """The partner's URL leads to an address the desk does not connect to."""


def literal_address(host: str) -> Address | None:
    """The address a host names by itself, in any spelling a resolver accepts (10.1, 0xa000001,
    167772161, 012.0.0.1 all mean 10.0.0.1), or None for a name."""
    text = host.strip("[]")
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if text and set(text) <= _NUMERIC:
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    return None


def _embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_internal(address: Address) -> bool:
    """Not a public partner's address: a way into the desk's own network."""
    inner = _embedded_ipv4(address)
    if inner is not None and is_internal(inner):
        return True
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return False  # an IPv4 address in IPv6 spelling: judged above, as IPv4
    return bool(
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or (isinstance(address, ipaddress.IPv6Address) and address.is_site_local)
        or address in _SHARED
        or not address.is_global
    )


def permitted(address: Address, allowed: Iterable[Network] = ()) -> bool:
    """Whether the desk may connect to `address`: a public one, or one the operator allows."""
    plain = _embedded_ipv4(address) if isinstance(address, ipaddress.IPv6Address) else None
    candidates = [address] if plain is None else [address, plain]
    if any(c.is_unspecified for c in candidates):
        return False
    for network in allowed:
        if any(c.version == network.version and c in network for c in candidates):
            return True
    return not is_internal(address)


def host_permitted(host: str, allowed: Iterable[Network] = ()) -> bool:
    """What can be said of a URL's host without a lookup: False for a literal address or a name
    of this machine that may not be reached; True otherwise (a name is checked when resolved)."""
    address = literal_address(host)
    if address is None and host.lower() in _LOCAL_NAMES:
        address = _LOOPBACK
    return address is None or permitted(address, allowed)


async def resolve(host: str, port: int) -> list[Address]:
    """Every address `host` resolves to (an address literal resolves to itself)."""
    literal = literal_address(host)
    if literal is not None:
        # No lookup for an address: getaddrinfo in a thread was 6 % of a webhook delivery's
        # time (bench/fanout.py). Names are still looked up at every call (DNS rebinding).
        return [literal]
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[Address] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        # An IPv6 link-local answer carries its interface ("fe80::1%eth0"): the address counts.
        found = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if found not in addresses:
            addresses.append(found)
    return addresses


async def permitted_addresses(host: str, port: int, allowed: Iterable[Network]) -> list[Address]:
    """The addresses of `host` the desk may connect to; BlockedDestination when there is none.
    A name resolving to public and internal addresses alike is reached on its public ones."""
    networks = tuple(allowed)
    if not host_permitted(host, networks):
        raise BlockedDestination(f"{host} is an internal address; the desk does not connect there")
    try:
        found = await resolve(host, port)
    except (OSError, UnicodeError) as exc:
        raise httpx.ConnectError(f"cannot resolve {host}: {type(exc).__name__}") from exc
    usable = [a for a in found if permitted(a, networks)]
    if not usable:
        raise BlockedDestination(
            f"{host} resolves to internal addresses only; the desk does not connect there"
        )
    return usable


async def config_time_check(host: str, allowed: Iterable[Network]) -> bool:
    """False when `host` is a name that resolves, now, to addresses the desk may not reach.
    A name that does not resolve (yet) passes: it is resolved again before each call."""
    networks = tuple(allowed)
    if not host_permitted(host, networks):
        return False
    if literal_address(host) is not None:
        return True
    try:
        async with asyncio.timeout(CONFIG_LOOKUP_SECONDS):
            found = await resolve(host, 443)
    except (OSError, UnicodeError, TimeoutError):
        return True
    return any(permitted(a, networks) for a in found)


class GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport that connects only to permitted addresses, to the very address it
    checked. One per partner call (`guarded_client`): its connections are never shared
    between two partners' names that happen to resolve to one address (the TLS session was
    opened, and its certificate checked, for one name). Webhooks, sent thousands a minute, keep
    their connections in adapters.http1 under the same guard."""

    def __init__(
        self,
        *,
        allowed: Iterable[Network],
        verify: ssl.SSLContext | bool,
    ) -> None:
        self.allowed = tuple(allowed)
        # retries=0: a retry is the outbox's decision, with its backoff.
        self._inner = httpx.AsyncHTTPTransport(verify=verify, retries=0)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        host = url.host
        port = url.port or (443 if url.scheme == "https" else 80)
        addresses = await permitted_addresses(host, port, self.allowed)
        extensions: dict[str, Any] = dict(request.extensions)
        if url.scheme == "https" and literal_address(host) is None:
            # TLS speaks to the name (SNI) and checks the certificate against it, not the IP.
            extensions["sni_hostname"] = host
        request.extensions = extensions
        failure = httpx.ConnectError(f"no address of {host} accepted the connection")
        # In the resolver's order, as a connection by name would (IPv6 unreachable: IPv4 next);
        # only a refused connection moves on, before any byte of the request was sent.
        for address in addresses:
            # The Host header was set from the original URL when the request was built.
            request.url = url.copy_with(host=str(address))
            try:
                return await self._inner.handle_async_request(request)
            except httpx.ConnectError as exc:
                failure = exc
        raise failure

    async def aclose(self) -> None:
        await self._inner.aclose()


def guarded_client(
    *, allowed: Iterable[Network], timeout: httpx.Timeout, verify: ssl.SSLContext | bool
) -> httpx.AsyncClient:
    """A client for one partner call: permitted addresses only, redirects never followed, and
    no proxy from the environment (a proxy would resolve the name itself, unchecked)."""
    return httpx.AsyncClient(
        transport=GuardedTransport(allowed=allowed, verify=verify),
        follow_redirects=False,
        timeout=timeout,
        trust_env=False,
    )
