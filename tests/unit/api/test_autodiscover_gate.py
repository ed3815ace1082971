"""Autoconfig and autodiscover at the HTTP gate, in process: public (any client address,
no login) while the XML-RPC endpoint keeps its allow-list, and off when switched off.
The XML shapes and real clients are in tests/api/test_autodiscover.py."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from tests.support.builders import make_tenant
from tests.support.inprocess import WsgiClient, proxy
from tests.support.server import ADMIN_LOGIN, ADMIN_PASSWORD

AUTOCONFIG = "/.well-known/autoconfig/mail/config-v1.1.xml"
POX = (
    b'<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/'
    b'requestschema/2006"><Request><EMailAddress>%s</EMailAddress><AcceptableResponseSchema>'
    b"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
    b"</AcceptableResponseSchema></Request></Autodiscover>"
)


def hosted_address(http: WsgiClient) -> str:
    tenant = make_tenant(proxy(http, ADMIN_LOGIN, ADMIN_PASSWORD))
    return f"someone@{tenant.domain}"


def test_mail_clients_reach_autodiscover_from_outside_the_allowed_networks(
    make_app: Any,
) -> None:
    app = make_app(allowed_networks=("127.0.0.0/8",), public_mail_host="mail.provider.test")
    http = WsgiClient(app.api)
    address = hosted_address(http)
    outside = "198.51.100.7"
    config = http.request(
        method="GET", path=f"{AUTOCONFIG}?emailaddress={address}", auth="", remote=outside
    )
    assert config.code == 200
    hostname = ET.fromstring(config.body).find("emailProvider/incomingServer/hostname")
    assert hostname is not None and hostname.text == "mail.provider.test"
    pox = http.request(
        POX % address.encode(), path="/autodiscover/autodiscover.xml", auth="", remote=outside
    )
    assert pox.code == 200 and b"<Type>IMAP</Type>" in pox.body
    # The provisioning API still answers only its allowed networks.
    assert http.request(b"<x/>", remote=outside).code == 403


def test_autodiscover_off_leaves_the_paths_unserved(make_app: Any) -> None:
    app = make_app(autodiscover=False)
    http = WsgiClient(app.api)
    address = hosted_address(http)
    query = f"{AUTOCONFIG}?emailaddress={address}"
    assert http.request(method="GET", path=query, auth="").code == 404
    pox = http.request(POX % address.encode(), path="/autodiscover/autodiscover.xml", auth="")
    assert pox.code == 404


def test_tls_settings_reach_every_client_format(make_app: Any) -> None:
    app = make_app(
        public_mail_tls="tls",
        public_imap_port=993,
        public_pop3_port=995,
        public_submission_port=465,
    )
    http = WsgiClient(app.api)
    address = hosted_address(http)
    config = ET.fromstring(
        http.request(method="GET", path=f"{AUTOCONFIG}?emailaddress={address}", auth="").body
    )
    servers = config.findall("emailProvider/*[@type]")
    assert [(s.findtext("port"), s.findtext("socketType")) for s in servers] == [
        ("993", "SSL"),
        ("995", "SSL"),
        ("465", "SSL"),
    ]
    pox = http.request(POX % address.encode(), path="/autodiscover/autodiscover.xml", auth="")
    assert pox.body.count(b"<SSL>on</SSL>") == 3
    assert pox.body.count(b"<Encryption>SSL</Encryption>") == 3
    assert b"<Type>WEB</Type>" not in pox.body  # no public_web_url: no webmail announced
