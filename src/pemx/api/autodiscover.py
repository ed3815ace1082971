"""Autoconfig and autodiscover: how a mail client configures an account from its address
and password alone (docs/autodiscover.md).

- Thunderbird (and K-9, Evolution, ...): GET /.well-known/autoconfig/mail/config-v1.1.xml
  or /mail/config-v1.1.xml (on autoconfig.<domain>) ?emailaddress=... -> clientConfig 1.1.
- Outlook: POST /autodiscover/autodiscover.xml, the POX request of the "outlook" schema ->
  Response/Account/Protocol for IMAP, POP3, SMTP (and WEB when webmail is announced).
- Phones: the same URL with the "mobilesync" schema -> Action/Settings/Server with the
  ActiveSync URL.

Every answer comes from the settings and the address's **domain** only: nobody logs in
here (a Basic header is ignored, so this is no password oracle), and an address that has
a mailbox gets exactly the answer of one that has none. A domain pemx does not host is
404. Requests are parsed with defusedxml; answers are built with ElementTree.
"""

from __future__ import annotations

import secrets
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from pemx.domain.client_endpoints import ClientEndpoints, MailSecurity

StartResponse = Callable[[str, list[tuple[str, str]]], Any]

AUTOCONFIG_PATHS = ("/.well-known/autoconfig/mail/config-v1.1.xml", "/mail/config-v1.1.xml")
AUTODISCOVER_PATH = "/autodiscover/autodiscover.xml"  # clients spell it in either case

RESPONSE_NS = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
OUTLOOK_SCHEMA = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
MOBILESYNC_SCHEMA = (
    "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006"
)
MAX_REQUEST_BYTES = 16 * 1024  # a POX request is a few hundred bytes

_THUNDERBIRD_SOCKET = {
    MailSecurity.NONE: "plain",
    MailSecurity.STARTTLS: "STARTTLS",
    MailSecurity.TLS: "SSL",
}
_OUTLOOK_ENCRYPTION = {
    MailSecurity.NONE: "None",
    MailSecurity.STARTTLS: "TLS",
    MailSecurity.TLS: "SSL",
}


class Autodiscover:
    """The three endpoints, answered from ``endpoints``; ``hosted`` gives the lower-case
    domain of an address whose domain pemx hosts, else None."""

    def __init__(self, endpoints: ClientEndpoints, hosted: Callable[[str], str | None]) -> None:
        self.endpoints = endpoints
        self.hosted = hosted

    @staticmethod
    def handles(path: str) -> bool:
        return path in AUTOCONFIG_PATHS or path.lower() == AUTODISCOVER_PATH

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "")
        if path in AUTOCONFIG_PATHS:
            if method not in ("GET", "HEAD"):
                return _plain(start_response, "405 Method Not Allowed", b"use GET\n", "GET")
            return self._autoconfig(environ, start_response)
        if method != "POST":
            return _plain(start_response, "405 Method Not Allowed", b"use POST\n", "POST")
        return self._autodiscover(environ, start_response)

    # ------------------------------------------------------------------ Thunderbird

    def _autoconfig(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        addresses = query.get("emailaddress", [])
        if addresses:
            domain = self.hosted(addresses[0])
        else:
            # autoconfig.<domain>/mail/config-v1.1.xml without the address: the host says it
            host = environ.get("HTTP_HOST", "").split(":")[0].lower()
            name = host.removeprefix("autoconfig.")
            domain = self.hosted("postmaster@" + name) if name != host else None
        if domain is None:
            return _plain(start_response, "404 Not Found", b"no mail domain here\n")
        return _xml(start_response, thunderbird_config(domain, self.endpoints))

    # ------------------------------------------------------------------ Outlook, phones

    def _autodiscover(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        body = _read_body(environ)
        if body is None:
            return _plain(start_response, "413 Content Too Large", b"request too large\n")
        request = parse_request(body)
        if request is None:
            return _xml(start_response, error_response(600, "Invalid Request"))
        address, schema = request
        if schema not in (OUTLOOK_SCHEMA, MOBILESYNC_SCHEMA):
            return _xml(start_response, error_response(601, "Provider is not available"))
        domain = self.hosted(address)
        if domain is None:
            return _plain(start_response, "404 Not Found", b"no mail domain here\n")
        login = address.strip().lower()
        if schema == OUTLOOK_SCHEMA:
            return _xml(start_response, outlook_response(login, self.endpoints))
        if self.endpoints.activesync_url is None:
            return _plain(start_response, "404 Not Found", b"no ActiveSync service here\n")
        return _xml(start_response, mobilesync_response(login, self.endpoints.activesync_url))


def parse_request(body: bytes) -> tuple[str, str] | None:
    """(EMailAddress, AcceptableResponseSchema) of a POX request, or None if it is not one.
    Namespaces are matched by local name: clients differ in how they spell them."""
    try:
        root = SafeET.fromstring(body, forbid_dtd=True)
    except (ET.ParseError, DefusedXmlException, ValueError):
        return None
    if _local(root.tag) != "Autodiscover":
        return None
    found: dict[str, str] = {}
    for element in root.iter():
        name = _local(element.tag)
        if name in ("EMailAddress", "AcceptableResponseSchema") and name not in found:
            found[name] = (element.text or "").strip()
    address = found.get("EMailAddress", "")
    if "@" not in address:
        return None
    return address, found.get("AcceptableResponseSchema", "")


def thunderbird_config(domain: str, endpoints: ClientEndpoints) -> ET.Element:
    """Thunderbird's clientConfig 1.1: IMAP and POP3 in, SMTP submission out, and the
    webmail's login page with groupware."""
    root = ET.Element("clientConfig", version="1.1")
    provider = ET.SubElement(root, "emailProvider", id=domain)
    _text(provider, "domain", domain)
    _text(provider, "displayName", f"Mail for {domain}")
    _text(provider, "displayShortName", domain)
    socket = _THUNDERBIRD_SOCKET[endpoints.security]
    servers = (
        ("incomingServer", "imap", endpoints.imap_port),
        ("incomingServer", "pop3", endpoints.pop3_port),
        ("outgoingServer", "smtp", endpoints.submission_port),
    )
    for tag, kind, port in servers:
        server = ET.SubElement(provider, tag, type=kind)
        _text(server, "hostname", endpoints.mail_host)
        _text(server, "port", str(port))
        _text(server, "socketType", socket)
        _text(server, "authentication", "password-cleartext")
        _text(server, "username", "%EMAILADDRESS%")  # the primary address logs in
    if endpoints.webmail_url is not None:  # the groupware's web UI
        web = ET.SubElement(provider, "webMail")
        ET.SubElement(web, "loginPage", url=endpoints.webmail_url)
    return root


def outlook_response(login: str, endpoints: ClientEndpoints) -> ET.Element:
    """Outlook's POX answer: one Account of type email with a Protocol per service."""
    root, response = _envelope(OUTLOOK_SCHEMA)
    account = ET.SubElement(response, "Account")
    _text(account, "AccountType", "email")
    _text(account, "Action", "settings")
    implicit = "on" if endpoints.security is MailSecurity.TLS else "off"
    for kind, port in (
        ("IMAP", endpoints.imap_port),
        ("POP3", endpoints.pop3_port),
        ("SMTP", endpoints.submission_port),
    ):
        protocol = ET.SubElement(account, "Protocol")
        _text(protocol, "Type", kind)
        _text(protocol, "Server", endpoints.mail_host)
        _text(protocol, "Port", str(port))
        _text(protocol, "DomainRequired", "off")
        _text(protocol, "LoginName", login)
        _text(protocol, "SPA", "off")
        # Encryption wins over SSL where a client reads both (TLS there means STARTTLS).
        _text(protocol, "SSL", implicit)
        _text(protocol, "Encryption", _OUTLOOK_ENCRYPTION[endpoints.security])
        _text(protocol, "AuthRequired", "on")
        if kind == "SMTP":
            _text(protocol, "UsePOPAuth", "off")
            _text(protocol, "SMTPLast", "off")
    if endpoints.webmail_url is not None:
        web = ET.SubElement(account, "Protocol")
        _text(web, "Type", "WEB")
        external = ET.SubElement(web, "External")
        owa = ET.SubElement(external, "OWAUrl", AuthenticationMethod="Basic")
        owa.text = endpoints.webmail_url
    return root


def mobilesync_response(login: str, activesync_url: str) -> ET.Element:
    """An ActiveSync client's answer: the server to sync with."""
    root, response = _envelope(MOBILESYNC_SCHEMA)
    _text(response, "Culture", "en:us")
    user = ET.SubElement(response, "User")
    _text(user, "EMailAddress", login)
    settings = ET.SubElement(ET.SubElement(response, "Action"), "Settings")
    server = ET.SubElement(settings, "Server")
    _text(server, "Type", "MobileSync")
    _text(server, "Url", activesync_url)
    _text(server, "Name", activesync_url)
    return root


def error_response(code: int, message: str) -> ET.Element:
    """Autodiscover's protocol error (600 invalid request, 601 schema not served)."""
    root = ET.Element("Autodiscover", xmlns=RESPONSE_NS)
    response = ET.SubElement(root, "Response")
    error = ET.SubElement(
        response, "Error", Time=time.strftime("%H:%M:%S"), Id=str(secrets.randbelow(2**31))
    )
    _text(error, "ErrorCode", str(code))
    _text(error, "Message", message)
    ET.SubElement(error, "DebugData")
    return root


def _envelope(schema: str) -> tuple[ET.Element, ET.Element]:
    # Default namespaces written as plain xmlns attributes: ElementTree would otherwise
    # invent prefixes (ns0:), which some phones' parsers do not follow.
    root = ET.Element("Autodiscover", xmlns=RESPONSE_NS)
    return root, ET.SubElement(root, "Response", xmlns=schema)


def _text(parent: ET.Element, tag: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, tag)
    element.text = text
    return element


def _local(tag: object) -> str:
    return str(tag).rpartition("}")[2]


def _read_body(environ: dict[str, Any]) -> bytes | None:
    """The request body, or None when it is larger than a POX request can be."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if length > MAX_REQUEST_BYTES:
        return None
    stream = environ["wsgi.input"]
    try:
        body: bytes = stream.read(length) if length else stream.read(MAX_REQUEST_BYTES + 1)
    except (OSError, ValueError):
        return None
    return body if len(body) <= MAX_REQUEST_BYTES else None


def _xml(start_response: StartResponse, root: ET.Element) -> list[bytes]:
    body = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    start_response(
        "200 OK",
        [
            ("Content-Type", "text/xml; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
        ],
    )
    return [body]


def _plain(
    start_response: StartResponse, status: str, body: bytes, allow: str | None = None
) -> list[bytes]:
    headers = [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
    if allow is not None:
        headers.append(("Allow", allow))
    start_response(status, headers)
    return [body]
