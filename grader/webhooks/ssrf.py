"""Which webhook URLs we may send to: a guard against server-side request forgery.

A URL is checked when an endpoint is registered and again before every send, because DNS
answers change (rebinding). `resolve_target` resolves the name once, checks *every* address,
and returns them; the sender connects to one of exactly those addresses (pinned) and sends
the name only in the Host header and TLS SNI. Redirects are never followed.

Refused: non-http(s) schemes, credentials in the URL, loopback, private, link-local, CGNAT
(100.64/10), unique-local (fc00::/7), site-local, reserved, documentation and benchmark
ranges, 0.0.0.0/::, multicast, broadcast, cloud metadata addresses, and IPv6 forms that
embed an IPv4 address (mapped ::ffff:a.b.c.d, 6to4) when the embedded address is refused.
Numeric host forms that inet_aton accepts (``2130706433``, ``0x7f.1``, ``0177.1``) are
decoded here, so the check does not depend on what the resolver does with them.

An `AllowList` (from configuration, never read here) admits on-premise hosts: a listed name
admits whatever it resolves to, a listed network admits its addresses. Nothing admits the
addresses in `_NEVER`.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# (host, port) -> the addresses the host resolves to, as strings. Injected in tests.
Resolver = Callable[[str, int], Sequence[str]]

MAX_URL_LENGTH = 2048
_SCHEMES = {"http": 80, "https": 443}
_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
_URL_CHARS = re.compile(r"^[\x21-\x7e]+$")  # printable ASCII, no space, no control characters

# Unreachable by design even when allow-listed: no LMS lives there.
_NEVER: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",  # "this network"; connecting to 0.0.0.0 reaches localhost on Linux
        "224.0.0.0/4",  # multicast
        "255.255.255.255/32",  # broadcast
        "169.254.169.254/32",  # AWS, GCP, Azure, OpenStack metadata
        "169.254.170.2/32",  # AWS ECS task metadata
        "100.100.100.200/32",  # Alibaba Cloud metadata
        "192.0.0.192/32",  # Oracle Cloud metadata
        "::/128",  # unspecified
        "ff00::/8",  # multicast
        "fd00:ec2::254/128",  # AWS metadata over IPv6
    )
)

# Refused unless allow-listed. Python's is_private/is_global differ between versions, so the
# ranges are spelled out; `not is_global` below is a second net for anything missed here.
_BLOCKED: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",  # 6to4 relay anycast
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "240.0.0.0/4",
        "::1/128",
        "::/96",  # IPv4-compatible (deprecated)
        "::ffff:0:0/96",  # IPv4-mapped; the embedded address is checked too
        "64:ff9b::/96",  # NAT64
        "64:ff9b:1::/48",
        "100::/64",  # discard-only
        "2001::/23",  # IETF protocol assignments, incl. Teredo
        "2001:db8::/32",  # documentation
        "fc00::/7",  # unique local, incl. fd00::/8
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated)
    )
)


class UnsafeURLError(ValueError):
    """The URL may not be used as a webhook target; `reason` says why (safe to show)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ResolutionError(UnsafeURLError):
    """The host name did not resolve. At registration a refusal, at send a transient failure."""


@dataclass(frozen=True)
class AllowList:
    """Hosts and networks admitted despite being private (on-premise LMS, test receivers)."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, spec: str | Iterable[str] | None) -> AllowList:
        """From ``"127.0.0.1,10.0.0.0/8,lms.local"`` (e.g. GRADER_WEBHOOK_ALLOW_HOSTS)."""
        if spec is None:
            return cls()
        items = spec.split(",") if isinstance(spec, str) else list(spec)
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for raw in items:
            item = raw.strip().lower()
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item.strip("[]"), strict=False))
            except ValueError:
                hosts.add(item.rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def admits_host(self, host: str) -> bool:
        return host in self.hosts

    def admits_address(self, ip: IPAddress) -> bool:
        return any(ip.version == n.version and ip in n for n in self.networks)


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (`addresses`) and what to say (`host`, `path`)."""

    scheme: str
    host: str  # lower-case name without trailing dot, or a canonical IP literal
    port: int
    path: str  # request target: path and query, never empty
    addresses: tuple[IPAddress, ...] = field(default=())

    @property
    def host_header(self) -> str:
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if _SCHEMES[self.scheme] == self.port else f"{name}:{self.port}"


def system_resolver(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, via the system resolver (getaddrinfo)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[str] = []
    for info in infos:
        addr = str(info[4][0])
        if addr not in seen:
            seen.append(addr)
    return seen


def _parse_number(part: str) -> int | None:
    """One inet_aton component: decimal, 0x-hex or 0-octal; None if it is not a number."""
    try:
        if part[:2] in ("0x", "0X"):
            return int(part[2:], 16) if len(part) > 2 else 0
        if len(part) > 1 and part[0] == "0":
            return int(part[1:], 8)
        return int(part, 10) if part.isdigit() else None
    except ValueError:
        return None


def _looks_numeric(label: str) -> bool:
    return label.isdigit() or bool(re.fullmatch(r"0[xX][0-9a-fA-F]*", label))


def parse_loose_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """Decode the IPv4 spellings inet_aton accepts (1 to 4 parts, hex, octal).

    Returns None for a host that is a name. Raises UnsafeURLError for a host whose last
    label is numeric but which is not a valid address (WHATWG URL treats those as IPv4).
    """
    parts = host.split(".")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()  # "0x7f.1." is the same address as "0x7f.1"
    if not parts or not _looks_numeric(parts[-1]):
        return None
    numbers = [_parse_number(p) for p in parts] if len(parts) <= 4 else [None]
    if any(n is None for n in numbers):
        raise UnsafeURLError(f"malformed numeric host {host!r}")
    values = [n for n in numbers if n is not None]
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (5 - len(values)):
        raise UnsafeURLError(f"malformed numeric host {host!r}")
    total = last
    for i, v in enumerate(head):
        total += v << (8 * (3 - i))
    return ipaddress.IPv4Address(total)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    return None


def address_refusal(ip: IPAddress, allow: AllowList, *, host_allowed: bool = False) -> str | None:
    """Why `ip` may not be connected to, or None if it may."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return f"scoped IPv6 address {ip}"
        inner = _embedded_ipv4(ip)
        if inner is not None:
            why = address_refusal(inner, allow, host_allowed=host_allowed)
            if why is not None:
                return f"{why} (embedded in {ip})"
            if ip.ipv4_mapped is not None:
                return None  # a mapped address is exactly its IPv4 address
    if any(ip.version == n.version and ip in n for n in _NEVER) or ip.is_multicast:
        return f"address {ip} is never a webhook target"
    if host_allowed or allow.admits_address(ip):
        return None
    if any(ip.version == n.version and ip in n for n in _BLOCKED):
        return f"address {ip} is private or reserved"
    if ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_reserved or not ip.is_global:
        return f"address {ip} is not public"
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return f"address {ip} is not public"
    return None


def _split_url(url: str) -> tuple[str, str, int, str]:
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeURLError("URL is too long")
    if not _URL_CHARS.match(url) or "\\" in url:
        raise UnsafeURLError("URL contains spaces, control or non-ASCII characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeURLError(f"malformed URL: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise UnsafeURLError(f"scheme {scheme or '(none)'!r} is not allowed; use http or https")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UnsafeURLError("credentials in the URL are not allowed")
    host = parts.hostname or ""
    if not host:
        raise UnsafeURLError("URL has no host")
    if port == 0:
        raise UnsafeURLError("port 0 is not allowed")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return scheme, host, port if port is not None else _SCHEMES[scheme], path


def _normalise_host(host: str) -> tuple[str, IPAddress | None]:
    """(canonical host, its address if the host is a literal)."""
    if ":" in host:  # urlsplit strips the brackets of an IPv6 literal
        if "%" in host:
            raise UnsafeURLError("scoped IPv6 addresses are not allowed")
        try:
            v6 = ipaddress.IPv6Address(host)
        except ValueError as exc:
            raise UnsafeURLError(f"malformed IPv6 host {host!r}") from exc
        return str(v6), v6
    v4 = parse_loose_ipv4(host)
    if v4 is not None:
        return str(v4), v4
    name = host[:-1] if host.endswith(".") else host
    labels = name.split(".")
    if not name or len(name) > 253 or not all(_LABEL.match(label) for label in labels):
        raise UnsafeURLError(f"malformed host name {host!r}")
    return name, None


def resolve_target(url: str, *, allow: AllowList, resolver: Resolver = system_resolver) -> Target:
    """Check `url` and every address its host resolves to; raise UnsafeURLError if refused.

    Call at registration and before every send, and connect only to `Target.addresses`.
    """
    scheme, raw_host, port, path = _split_url(url)
    host, literal = _normalise_host(raw_host)
    host_allowed = literal is None and allow.admits_host(host)
    if literal is not None:
        addresses: tuple[IPAddress, ...] = (literal,)
    else:
        if not host_allowed and (host == "localhost" or host.endswith(".localhost")):
            raise UnsafeURLError("localhost is not allowed")
        try:
            answers = list(resolver(host, port))
            addresses = tuple(ipaddress.ip_address(a) for a in answers)
        except (OSError, UnicodeError, ValueError) as exc:
            raise ResolutionError(f"host {host!r} did not resolve") from exc
        if not addresses:
            raise ResolutionError(f"host {host!r} did not resolve")
    for ip in addresses:
        why = address_refusal(ip, allow, host_allowed=host_allowed)
        if why is not None:
            raise UnsafeURLError(f"{host}: {why}")
    return Target(scheme=scheme, host=host, port=port, path=path, addresses=addresses)
