"""Autoconfig and autodiscover over HTTP against a running `pemx serve`: the XML shapes
Thunderbird, Outlook and phones read, and a client that configures an account from its
address and password alone (IMAP and submission logins with what the answer says)."""

from __future__ import annotations

import imaplib
import smtplib
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from tests.api.helpers import HttpResult, basic, raw_request
from tests.support.builders import Tenant, make_tenant, new_user_mailbox, unique
from tests.support.postgres import free_port
from tests.support.server import Server, served

PASSWORD = "Client-Pass-1"
WEB_URL = "https://groupware.provider.test"
RESPONSE_NS = "{http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006}"
OUTLOOK = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
MOBILESYNC = "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006"
OUTLOOK_REQUEST = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
MOBILE_REQUEST = "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006"


@pytest.fixture(scope="module")
def clients_server(new_database: Any) -> Iterator[Server]:
    """A server whose listeners are on known ports, and whose public settings name them:
    what autoconfig answers is what a client can really use."""
    imap, pop3, submission = free_port(), free_port(), free_port()
    with served(
        new_database,
        env={
            "PEMX_IMAP_PORT": str(imap),
            "PEMX_POP3_PORT": str(pop3),
            "PEMX_SUBMISSION_PORT": str(submission),
            "PEMX_PUBLIC_MAIL_HOST": "127.0.0.1",
            "PEMX_PUBLIC_WEB_URL": WEB_URL + "/",
        },
    ) as running:
        yield running


@pytest.fixture(scope="module")
def mailbox(clients_server: Server) -> tuple[Tenant, str]:
    provider = clients_server.proxy()
    tenant = make_tenant(provider)
    _, _, _, address = new_user_mailbox(provider, tenant, PASSWORD)
    return tenant, address


def autoconfig(server: Server, query: str = "", **headers: str) -> HttpResult:
    path = "/.well-known/autoconfig/mail/config-v1.1.xml" + (f"?{query}" if query else "")
    return raw_request(server, method="GET", path=path, auth="", headers=headers)


def pox(address: str, schema: str = OUTLOOK, request_ns: str = OUTLOOK_REQUEST) -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<Autodiscover xmlns="{request_ns}"><Request>'
        f"<EMailAddress>{address}</EMailAddress>"
        f"<AcceptableResponseSchema>{schema}</AcceptableResponseSchema>"
        "</Request></Autodiscover>"
    ).encode()


def autodiscover(
    server: Server, body: bytes, *, auth: str = "", path: str = "/autodiscover/autodiscover.xml"
) -> HttpResult:
    return raw_request(server, body, path=path, auth=auth)


def text(element: ET.Element, path: str) -> str:
    found = element.find(path)
    assert found is not None and found.text is not None, path
    return found.text


# ------------------------------------------------------------------------ Thunderbird


def test_thunderbird_configures_the_account_from_the_address_alone(
    clients_server: Server, mailbox: tuple[Tenant, str]
) -> None:
    tenant, address = mailbox
    answer = autoconfig(clients_server, f"emailaddress={quote(address)}")
    assert answer.status == 200
    assert answer.headers["content-type"] == "text/xml; charset=utf-8"
    root = ET.fromstring(answer.body)
    assert root.tag == "clientConfig" and root.get("version") == "1.1"
    provider = root.find("emailProvider")
    assert provider is not None and provider.get("id") == tenant.domain
    assert text(provider, "domain") == tenant.domain
    assert text(provider, "displayName") and text(provider, "displayShortName")
    servers = {s.get("type"): s for s in provider if s.tag.endswith("Server")}
    assert set(servers) == {"imap", "pop3", "smtp"}
    assert [s.tag for s in provider if s.tag.endswith("Server")] == [
        "incomingServer",
        "incomingServer",
        "outgoingServer",
    ]
    runtime = clients_server.runtime
    for kind, key in (("imap", "imap"), ("pop3", "pop3"), ("smtp", "submission")):
        server = servers[kind]
        assert text(server, "hostname") == "127.0.0.1"
        assert int(text(server, "port")) == int(runtime[key]["port"])
        assert text(server, "socketType") == "plain"  # public_mail_tls = none (the default)
        assert text(server, "authentication") == "password-cleartext"
        assert text(server, "username") == "%EMAILADDRESS%"

    # What a client does with it: the address for %EMAILADDRESS%, the password typed.
    imap_server, smtp_server = servers["imap"], servers["smtp"]
    user = text(imap_server, "username").replace("%EMAILADDRESS%", address)
    imap = imaplib.IMAP4(text(imap_server, "hostname"), int(text(imap_server, "port")))
    imap.login(user, PASSWORD)
    assert imap.select("INBOX")[0] == "OK"
    imap.logout()
    with smtplib.SMTP(text(smtp_server, "hostname"), int(text(smtp_server, "port"))) as smtp:
        smtp.ehlo("client.test")
        assert smtp.login(address, PASSWORD)[0] == 235


def test_the_autoconfig_host_names_the_domain(
    clients_server: Server, mailbox: tuple[Tenant, str]
) -> None:
    tenant, address = mailbox
    by_address = autoconfig(clients_server, f"emailaddress={quote(address)}")
    path = "/mail/config-v1.1.xml"
    by_host = raw_request(
        clients_server,
        method="GET",
        path=path,
        auth="",
        headers={"Host": f"autoconfig.{tenant.domain}"},
    )
    assert by_host.status == 200 and by_host.body == by_address.body
    stranger = raw_request(
        clients_server, method="GET", path=path, auth="", headers={"Host": "autoconfig.nope.test"}
    )
    assert stranger.status == 404


def test_autoconfig_never_tells_whether_an_address_exists(
    clients_server: Server, mailbox: tuple[Tenant, str]
) -> None:
    tenant, address = mailbox
    real = autoconfig(clients_server, f"emailaddress={quote(address)}")
    missing = autoconfig(clients_server, f"emailaddress={unique('nobody')}@{tenant.domain}")
    assert (real.status, real.body) == (missing.status, missing.body)
    for query in (
        f"emailaddress={unique('x')}@{unique('unknown')}.test",  # a domain pemx does not host
        "emailaddress=not-an-address",
        "",
    ):
        answer = autoconfig(clients_server, query)
        assert answer.status == 404 and answer.headers["content-type"] == "text/plain"
    post = raw_request(
        clients_server, b"", path="/.well-known/autoconfig/mail/config-v1.1.xml", auth=""
    )
    assert post.status == 405 and post.headers["allow"] == "GET"


# ------------------------------------------------------------------------ Outlook


def test_outlook_gets_imap_pop3_smtp_and_the_webmail(
    clients_server: Server, mailbox: tuple[Tenant, str]
) -> None:
    _, address = mailbox
    answer = autodiscover(clients_server, pox(address.upper()))
    assert answer.status == 200
    assert answer.headers["content-type"] == "text/xml; charset=utf-8"
    assert b'<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/' in (
        answer.body
    )  # default namespaces, no invented prefixes
    assert b"ns0:" not in answer.body
    root = ET.fromstring(answer.body)
    assert root.tag == f"{RESPONSE_NS}Autodiscover"
    ns = "{" + OUTLOOK + "}"
    account = root.find(f"{ns}Response/{ns}Account")
    assert account is not None
    assert text(account, f"{ns}AccountType") == "email"
    assert text(account, f"{ns}Action") == "settings"
    protocols = {text(p, f"{ns}Type"): p for p in account.findall(f"{ns}Protocol")}
    assert set(protocols) == {"IMAP", "POP3", "SMTP", "WEB"}
    runtime = clients_server.runtime
    for kind, key in (("IMAP", "imap"), ("POP3", "pop3"), ("SMTP", "submission")):
        protocol = protocols[kind]
        assert text(protocol, f"{ns}Server") == "127.0.0.1"
        assert int(text(protocol, f"{ns}Port")) == int(runtime[key]["port"])
        assert text(protocol, f"{ns}LoginName") == address  # lower case, as it logs in
        assert text(protocol, f"{ns}SSL") == "off"
        assert text(protocol, f"{ns}Encryption") == "None"
        assert text(protocol, f"{ns}AuthRequired") == "on"
    assert text(protocols["WEB"], f"{ns}External/{ns}OWAUrl") == WEB_URL + "/SOGo/"

    imap = protocols["IMAP"]
    client = imaplib.IMAP4(text(imap, f"{ns}Server"), int(text(imap, f"{ns}Port")))
    client.login(text(imap, f"{ns}LoginName"), PASSWORD)
    client.logout()


def test_outlook_autodiscover_checks_no_credentials_and_tells_nothing_about_the_address(
    clients_server: Server, mailbox: tuple[Tenant, str]
) -> None:
    tenant, address = mailbox
    missing = f"{unique('nobody')}@{tenant.domain}"

    def masked(result: HttpResult, name: str) -> tuple[int, bytes]:
        return result.status, result.body.replace(name.encode(), b"ADDRESS")

    plain = autodiscover(clients_server, pox(address))
    # A Basic header is ignored, right or wrong: no password oracle, no bcrypt per request.
    for auth in (basic(address, PASSWORD), basic(address, "wrong"), "Basic !!"):
        assert autodiscover(clients_server, pox(address), auth=auth).body == plain.body
    assert masked(autodiscover(clients_server, pox(missing)), missing) == masked(plain, address)
    # The capitalized spelling phones use is the same endpoint.
    capital = autodiscover(clients_server, pox(address), path="/Autodiscover/Autodiscover.xml")
    assert capital.body == plain.body
    assert autodiscover(clients_server, pox(f"a@{unique('unknown')}.test")).status == 404


# ------------------------------------------------------------------------ phones


def test_a_phone_gets_the_activesync_url(
    clients_server: Server, mailbox: tuple[Tenant, str]
) -> None:
    _, address = mailbox
    answer = autodiscover(clients_server, pox(address, MOBILESYNC, MOBILE_REQUEST))
    assert answer.status == 200
    root = ET.fromstring(answer.body)
    ns = "{" + MOBILESYNC + "}"
    response = root.find(f"{ns}Response")
    assert root.tag == f"{RESPONSE_NS}Autodiscover" and response is not None
    assert text(response, f"{ns}User/{ns}EMailAddress") == address
    server = response.find(f"{ns}Action/{ns}Settings/{ns}Server")
    assert server is not None
    assert text(server, f"{ns}Type") == "MobileSync"
    assert text(server, f"{ns}Url") == WEB_URL + "/Microsoft-Server-ActiveSync"
    assert text(server, f"{ns}Name") == WEB_URL + "/Microsoft-Server-ActiveSync"


# ------------------------------------------------------------------------ bad requests


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"not xml at all", "600"),
        (b"<Autodiscover><Request></Request></Autodiscover>", "600"),  # no address
        (b"<Other><EMailAddress>a@b.test</EMailAddress></Other>", "600"),
        (  # an entity bomb: refused by defusedxml, never expanded
            b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "xxxxxxxxxx">'
            b'<!ENTITY y "&x;&x;&x;&x;&x;&x;&x;&x;&x;&x;">]>'
            b"<Autodiscover><Request><EMailAddress>&y;</EMailAddress></Request></Autodiscover>",
            "600",
        ),
        (  # an external entity: never fetched
            b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            b"<Autodiscover><Request><EMailAddress>&e;</EMailAddress></Request></Autodiscover>",
            "600",
        ),
        (pox("a@b.test", "http://example.test/some/other/schema"), "601"),
    ],
    ids=["garbage", "no-address", "other-root", "entity-bomb", "external-entity", "schema"],
)
def test_a_bad_autodiscover_request_gets_autodiscovers_error(
    clients_server: Server, body: bytes, code: str
) -> None:
    answer = autodiscover(clients_server, body)
    assert answer.status == 200
    root = ET.fromstring(answer.body)
    error = root.find(f"{RESPONSE_NS}Response/{RESPONSE_NS}Error")
    assert error is not None
    assert text(error, f"{RESPONSE_NS}ErrorCode") == code
    assert b"passwd" not in answer.body and b"root:" not in answer.body


def test_oversized_and_wrong_method_requests_are_refused(clients_server: Server) -> None:
    assert autodiscover(clients_server, b"<Autodiscover>" + b" " * 20_000).status == 413
    got = raw_request(clients_server, method="GET", path="/autodiscover/autodiscover.xml", auth="")
    assert got.status == 405 and got.headers["allow"] == "POST"
    # The XML-RPC endpoint keeps its login
    assert raw_request(clients_server, b"<x/>", auth="").status == 401
