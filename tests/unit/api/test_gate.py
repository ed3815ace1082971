"""The HTTP gate in front of the dispatcher: path, method, client address, body cap, auth."""

from __future__ import annotations

import io
import xmlrpc.client
from typing import Any

import pytest
from cheroot.errors import MaxSizeExceeded

from tests.support.inprocess import ADMIN_LOGIN, Response, WsgiClient, basic

LIST_METHODS = xmlrpc.client.dumps((), methodname="system.listMethods").encode()


def assert_plain(response: Response, code: int) -> None:
    assert response.code == code, response
    assert response.headers["content-type"] == "text/plain"
    assert response.headers["content-length"] == str(len(response.body))
    assert response.body.endswith(b"\n")


def test_a_served_call_is_200_text_xml_with_its_length(http: WsgiClient) -> None:
    response = http.request(LIST_METHODS)
    assert response.code == 200
    assert response.headers["content-type"] == "text/xml; charset=utf-8"
    assert response.headers["content-length"] == str(len(response.body))
    assert "pem.addAccount" in response.value()


def test_the_endpoint_is_rpc2_with_or_without_a_trailing_slash(http: WsgiClient) -> None:
    assert http.request(LIST_METHODS, path="/RPC2/").code == 200
    for path in ("/", "/RPC3", "/rpc2", "/RPC2/x"):
        assert_plain(http.request(LIST_METHODS, path=path), 404)


@pytest.mark.parametrize("method", ["GET", "PUT", "HEAD", "OPTIONS"])
def test_only_post_is_served(http: WsgiClient, method: str) -> None:
    response = http.request(method=method)
    assert_plain(response, 405)
    assert response.headers["allow"] == "POST"


@pytest.mark.parametrize(
    "authorization",
    [
        "",  # no header at all
        basic(ADMIN_LOGIN, "wrong-password"),
        basic("nobody-here", "Provider-Secret-1"),
        "Bearer abc",
        "Basic not-base64!",
        "Basic " + "bm9jb2xvbg==",  # "nocolon"
    ],
    ids=["none", "wrong-password", "unknown-login", "not-basic", "bad-base64", "no-colon"],
)
def test_calls_without_valid_credentials_are_401(http: WsgiClient, authorization: str) -> None:
    response = http.request(LIST_METHODS, auth=authorization)
    assert_plain(response, 401)
    assert response.headers["www-authenticate"] == 'Basic realm="pemx"'


def test_the_login_is_case_insensitive(http: WsgiClient) -> None:
    assert http.request(LIST_METHODS, auth=basic(ADMIN_LOGIN.upper())).code == 200


@pytest.mark.parametrize(
    ("remote", "code"),
    [("10.1.2.3", 200), ("2001:db8::1", 200), ("127.0.0.1", 403), ("not-an-address", 403)],
)
def test_the_allow_list_admits_only_its_networks(make_app: Any, remote: str, code: int) -> None:
    app = make_app(allowed_networks=("10.0.0.0/8", "2001:db8::/32"))
    response = WsgiClient(app.api).request(LIST_METHODS, remote=remote)
    assert response.code == code
    if code == 403:
        assert_plain(response, 403)


def test_the_allow_list_is_checked_before_credentials(make_app: Any) -> None:
    app = make_app(allowed_networks=("10.0.0.0/8",))
    response = WsgiClient(app.api).request(LIST_METHODS, auth="", remote="192.0.2.1")
    assert_plain(response, 403)


CAP = 4096


@pytest.fixture
def capped(make_app: Any) -> WsgiClient:
    return WsgiClient(make_app(max_body_bytes=CAP).api)


def body_of(size: int) -> bytes:
    """A pem.getUserByLogin call of exactly ``size`` bytes."""
    empty = xmlrpc.client.dumps(({"login": ""},), methodname="pem.getUserByLogin").encode()
    return xmlrpc.client.dumps(
        ({"login": "x" * (size - len(empty))},), methodname="pem.getUserByLogin"
    ).encode()


def test_a_body_at_the_cap_is_served(capped: WsgiClient) -> None:
    response = capped.request(body_of(CAP))
    assert response.code == 200
    assert response.value()["status"] == -1  # the long login is refused by validation


def test_a_declared_length_over_the_cap_is_413_before_reading(capped: WsgiClient) -> None:
    unread = io.BytesIO(b"")  # nothing is read: the declared length decides
    response = capped.request(stream=unread, content_length=str(CAP + 1))
    assert_plain(response, 413)


@pytest.mark.parametrize("length", ["abc", "-"])
def test_an_unreadable_content_length_is_413(capped: WsgiClient, length: str) -> None:
    response = capped.request(LIST_METHODS, content_length=length, validate=False)
    assert_plain(response, 413)


def test_a_chunked_body_is_read_up_to_the_cap(capped: WsgiClient) -> None:
    # No Content-Length: the body is read until the cap, plus one byte to see it is over.
    assert capped.request(stream=io.BytesIO(body_of(CAP))).code == 200
    assert_plain(capped.request(stream=io.BytesIO(body_of(CAP + 1))), 413)


class _CappedChunks(io.RawIOBase):
    """cheroot's chunked reader: it stops a body over its own cap with an error."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def read(self, size: int = -1) -> bytes:
        raise self.error


@pytest.mark.parametrize(
    "error",
    [MaxSizeExceeded(), OSError("Request Entity Too Large")],
    ids=["MaxSizeExceeded", "OSError"],
)
def test_a_chunked_body_that_the_server_cuts_off_is_413(
    capped: WsgiClient, error: Exception
) -> None:
    assert_plain(capped.request(stream=_CappedChunks(error)), 413)
