"""Settings: every value is checked where it is read, and errors name the setting."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from pemx import config
from pemx.config import PORT_SETTINGS, Settings, SettingsError, load_settings


def _load(**environ: str) -> Settings:
    return load_settings(environ={"PEMX_DATA_DIR": "/nonexistent/pemx", **environ})


def test_every_port_setting_is_checked() -> None:
    ports = {f.name for f in fields(Settings) if f.name == "port" or f.name.endswith("_port")}
    assert set(PORT_SETTINGS) == ports


@pytest.mark.parametrize("name", PORT_SETTINGS)
@pytest.mark.parametrize("value", ["-1", "65536"])
def test_a_port_outside_0_to_65535_is_refused_by_name(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"setting {name}: {value} is not a TCP port"):
        _load(**{f"PEMX_{name.upper()}": value})


@pytest.mark.parametrize("name", PORT_SETTINGS)
def test_ports_0_and_65535_are_accepted(name: str) -> None:
    assert getattr(_load(**{f"PEMX_{name.upper()}": "0"}), name) == 0
    assert getattr(_load(**{f"PEMX_{name.upper()}": "65535"}), name) == 65535


def test_values_are_coerced_by_the_setting_type_without_building_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_settings(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("_coerce built a Settings")

    monkeypatch.setattr(config, "Settings", no_settings)
    assert config._coerce("mail", "off") is False
    assert config._coerce("mail", True) is True
    assert config._coerce("threads", "8") == 8
    assert config._coerce("auth_cache_ttl", "2.5") == 2.5
    assert config._coerce("allowed_networks", "10.0.0.0/8, ::1") == ("10.0.0.0/8", "::1")
    assert config._coerce("allowed_networks", ["10.0.0.0/8"]) == ("10.0.0.0/8",)
    assert config._coerce("data_dir", "~/pemx") == Path("~/pemx").expanduser()
    assert config._coerce("host", 1) == "1"
    with pytest.raises(SettingsError, match="setting threads"):
        config._coerce("threads", "many")
    with pytest.raises(SettingsError, match="setting mail: not a boolean"):
        config._coerce("mail", "perhaps")


def test_allowed_networks_are_parsed_once() -> None:
    settings = _load(PEMX_ALLOWED_NETWORKS="10.0.0.0/8,192.0.2.1")
    assert [str(n) for n in settings.networks] == ["10.0.0.0/8", "192.0.2.1/32"]
    assert settings.networks is settings.networks


def test_a_bad_network_is_refused_when_loading() -> None:
    with pytest.raises(SettingsError, match="allowed_networks"):
        _load(PEMX_ALLOWED_NETWORKS="10.0.0.0/33")


def test_the_api_url_names_the_bound_port_and_the_scheme() -> None:
    assert Settings(host="127.0.0.1", port=0).api_url(8440) == "http://127.0.0.1:8440/RPC2"
    tls = Settings(host="api.example", tls_cert="c.pem", tls_key="k.pem")
    assert tls.api_url(443) == "https://api.example:443/RPC2"


def test_two_mail_listeners_on_one_port_are_refused_as_a_setting() -> None:
    with pytest.raises(SettingsError, match="mail port settings: the ports must be distinct"):
        _load(PEMX_IMAP_PORT="10110", PEMX_POP3_PORT="10110")


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"PEMX_SMARTHOST_TLS": "ssl"}, "setting smarthost_tls: 'ssl' is not one of"),
        ({"PEMX_SMARTHOST_TIMEOUT": "0"}, "setting smarthost_timeout"),
        ({"PEMX_SMARTHOST_USERNAME": "relay"}, "smarthost_username needs smarthost_host"),
    ],
)
def test_smarthost_settings_are_checked(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        _load(**environ)


def test_a_smarthost_from_the_environment() -> None:
    from pemx.adapters.mail.submission.services import smarthost_of

    assert smarthost_of(_load()) is None
    smarthost = smarthost_of(
        _load(
            PEMX_SMARTHOST_HOST="smtp.example.net",
            PEMX_SMARTHOST_TLS="tls",
            PEMX_SMARTHOST_PORT="465",
            PEMX_SMARTHOST_USERNAME="u",
        )
    )
    assert smarthost is not None
    assert (smarthost.host, smarthost.port, smarthost.tls, smarthost.username) == (
        "smtp.example.net", 465, "tls", "u")  # fmt: skip


def test_client_endpoints_default_to_this_host_and_the_listener_ports() -> None:
    import socket

    from pemx.domain.client_endpoints import MailSecurity

    endpoints = _load(PEMX_IMAP_PORT="1143", PEMX_SUBMISSION_PORT="1587").client_endpoints
    assert endpoints.mail_host == socket.getfqdn()
    assert (endpoints.imap_port, endpoints.pop3_port, endpoints.submission_port) == (
        1143,
        Settings().pop3_port,
        1587,
    )
    assert endpoints.security is MailSecurity.NONE  # the private Dovecot has no TLS
    assert endpoints.activesync_url is None and endpoints.webmail_url is None
    chosen = _load(
        PEMX_PUBLIC_MAIL_HOST="mail.example.net",
        PEMX_PUBLIC_IMAP_PORT="993",
        PEMX_PUBLIC_MAIL_TLS="tls",
        PEMX_PUBLIC_WEB_URL="https://web.example.net/",
    ).client_endpoints
    assert (chosen.mail_host, chosen.imap_port, chosen.security) == (
        "mail.example.net",
        993,
        MailSecurity.TLS,
    )
    assert chosen.activesync_url == "https://web.example.net/Microsoft-Server-ActiveSync"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("public_mail_tls", "ssl", "public_mail_tls: 'ssl' is not one of none, starttls, tls"),
        ("public_web_url", "web.example.net", "public_web_url: 'web.example.net' is not an"),
    ],
)
def test_bad_public_settings_are_refused_by_name(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        _load(**{f"PEMX_{name.upper()}": value})
