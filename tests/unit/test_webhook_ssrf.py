"""Every form of an internal address is refused before any connection is made.

No test here sends traffic: resolution goes through an injected resolver that fails the test
if it is asked about a host it should never have been asked about.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from grader.webhooks.ssrf import (
    AllowList,
    ResolutionError,
    Resolver,
    UnsafeURLError,
    parse_loose_ipv4,
    resolve_target,
)

PUBLIC = "93.184.215.14"
NOBODY = AllowList()


def public_resolver(host: str, port: int) -> Sequence[str]:
    return [PUBLIC]


def no_resolver(host: str, port: int) -> Sequence[str]:
    raise AssertionError(f"must not resolve {host!r}: refused before resolution")


def fixed(*addresses: str) -> Resolver:
    def resolver(host: str, port: int) -> Sequence[str]:
        return list(addresses)

    return resolver


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://127.1.2.3/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:7f00:1]/",
        "http://2130706433/",
        "http://0x7f.1/",
        "http://0x7f000001/",
        "http://0177.0.0.1/",
        "http://127.0.0.1./",
        "http://10.0.0.1/",
        "http://172.16.5.4/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00::1]/",
        "http://[fe80::1]/",
        "http://[fd00:ec2::254]/",
        "http://0.0.0.0/",
        "http://0/",
        "http://[::]/",
        "http://224.0.0.1/",
        "http://[ff02::1]/",
        "http://255.255.255.255/",
        "http://240.0.0.1/",
        "http://192.0.2.1/",
        "http://[2001:db8::1]/",
        "http://[::7f00:1]/",
        "http://[2002:7f00:1::]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "https://100.100.100.200/",
    ],
)
def test_internal_address_literals_are_refused(url: str) -> None:
    with pytest.raises(UnsafeURLError):
        resolve_target(url, allow=NOBODY, resolver=no_resolver)


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "gopher://example.com:70/_GET",
        "ftp://example.com/",
        "javascript:alert(1)",
        "//example.com/",
        "example.com",
        "http://user:pw@example.com/",
        "http://example.com@127.0.0.1/",
        "http://127.0.0.1\\@example.com/",
        "http://exa mple.com/",
        "http://example.com:0/",
        "http://example.com:99999/",
        "http://[::1/",
        "http://[fe80::1%25eth0]/",
        "http://1.2.3.999/",
        "http://1.2.3.4.5/",
        "http://08.0.0.1/",
        "http://ex_ample..com/",
        "http://" + "a" * 2100 + ".com/",
        "http://exämple.com/",
    ],
)
def test_bad_schemes_and_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(UnsafeURLError):
        resolve_target(url, allow=NOBODY, resolver=no_resolver)


@pytest.mark.parametrize("url", ["http://localhost/", "http://localhost./", "http://a.localhost/"])
def test_localhost_names_are_refused_by_name(url: str) -> None:
    with pytest.raises(UnsafeURLError, match="localhost"):
        resolve_target(url, allow=NOBODY, resolver=no_resolver)


def test_localhost_is_refused_by_address_through_the_system_resolver() -> None:
    # allow-listing the *name* is what lets it through; without it the address check refuses
    with pytest.raises(UnsafeURLError):
        resolve_target("http://localhost/", allow=AllowList.parse("other.example"))
    target = resolve_target("http://localhost:8080/x", allow=AllowList.parse("localhost"))
    assert all(ip.is_loopback for ip in target.addresses)


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "10.1.2.3", "::ffff:10.0.0.1", "fd12::1"])
def test_names_resolving_to_internal_addresses_are_refused(address: str) -> None:
    with pytest.raises(UnsafeURLError):
        resolve_target("https://127.0.0.1.nip.io/", allow=NOBODY, resolver=fixed(address))


def test_every_resolved_address_is_checked() -> None:
    with pytest.raises(UnsafeURLError, match="127.0.0.1"):
        resolve_target("https://lms.example/", allow=NOBODY, resolver=fixed(PUBLIC, "127.0.0.1"))


def test_public_name_is_accepted_and_pinned() -> None:
    target = resolve_target(
        "https://LMS.Example.:8443/hooks?x=1#frag", allow=NOBODY, resolver=public_resolver
    )
    assert (target.scheme, target.host, target.port, target.path) == (
        "https",
        "lms.example",
        8443,
        "/hooks?x=1",
    )
    assert [str(a) for a in target.addresses] == [PUBLIC]
    assert target.host_header == "lms.example:8443"


def test_rebinding_is_caught_at_send_time() -> None:
    answers = iter([[PUBLIC], ["127.0.0.1"]])

    def rebinding(host: str, port: int) -> Sequence[str]:
        return next(answers)

    url = "https://rebind.example/hook"
    resolve_target(url, allow=NOBODY, resolver=rebinding)  # registration passes
    with pytest.raises(UnsafeURLError):
        resolve_target(url, allow=NOBODY, resolver=rebinding)  # the send is refused


def test_unresolvable_host_is_a_resolution_error() -> None:
    def failing(host: str, port: int) -> Sequence[str]:
        raise OSError("Name or service not known")

    with pytest.raises(ResolutionError):
        resolve_target("https://nowhere.example/", allow=NOBODY, resolver=failing)
    with pytest.raises(ResolutionError):
        resolve_target("https://nowhere.example/", allow=NOBODY, resolver=fixed())


def test_allow_list_admits_listed_networks_and_hosts_only() -> None:
    allow = AllowList.parse("127.0.0.1, 10.0.0.0/8,LMS.local.,[fd00::1]")
    assert resolve_target("http://127.0.0.1:5000/", allow=allow, resolver=no_resolver).port == 5000
    resolve_target("http://[::ffff:127.0.0.1]/", allow=allow, resolver=no_resolver)
    resolve_target("http://10.9.8.7/", allow=allow, resolver=no_resolver)
    resolve_target("http://[fd00::1]/", allow=allow, resolver=no_resolver)
    resolve_target("http://lms.local/", allow=allow, resolver=fixed("192.168.3.4"))
    with pytest.raises(UnsafeURLError):
        resolve_target("http://127.0.0.2/", allow=allow, resolver=no_resolver)
    with pytest.raises(UnsafeURLError):
        resolve_target("http://other.local/", allow=allow, resolver=fixed("192.168.3.4"))


@pytest.mark.parametrize(
    "url", ["http://169.254.169.254/", "http://0.0.0.0/", "http://224.0.0.1/", "http://[::]/"]
)
def test_allow_list_never_admits_metadata_unspecified_or_multicast(url: str) -> None:
    allow = AllowList.parse("0.0.0.0/0,::/0,lms.local")
    with pytest.raises(UnsafeURLError, match="never"):
        resolve_target(url, allow=allow, resolver=no_resolver)
    with pytest.raises(UnsafeURLError, match="never"):
        resolve_target("http://lms.local/", allow=allow, resolver=fixed("169.254.169.254"))


def test_allow_list_parse_handles_empty_and_none() -> None:
    assert AllowList.parse(None) == AllowList()
    assert AllowList.parse(" , ") == AllowList()
    assert AllowList.parse(["127.0.0.1"]).admits_address(
        resolve_target("http://127.0.0.1/", allow=AllowList.parse("127.0.0.1")).addresses[0]
    )


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0x7f.1.", "127.0.0.1"),
        ("0177.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.1.65535", "10.1.255.255"),
        ("0", "0.0.0.0"),
        ("example.com", None),
        ("1x.example", None),
    ],
)
def test_loose_ipv4_forms(host: str, expected: str | None) -> None:
    parsed = parse_loose_ipv4(host)
    assert (str(parsed) if parsed else None) == expected
