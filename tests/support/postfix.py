"""A private Postfix's main.cf for the tests: what a system's main.cf holds, pointed at a
private directory on loopback, followed by the settings pemx generated (main.cf.pemx)."""

from __future__ import annotations

from pathlib import Path


def private_main_cf(pf: Path, *extra: str) -> str:
    """main.cf for a Postfix whose whole state is under ``pf``; ``extra`` settings
    (``name = value``) go before the generated ones."""
    settings = [
        "compatibility_level = 3.6",
        f"config_directory = {pf}",
        f"queue_directory = {pf}/queue",
        f"data_directory = {pf}/data",
        f"maillog_file = {pf}/maillog",
        f"maillog_file_prefixes = {pf}",
        "inet_interfaces = 127.0.0.1",
        "inet_protocols = ipv4",
        "myhostname = mx.test.invalid",
        "mydestination =",
        "mynetworks = 127.0.0.0/8",
        "alias_maps =",
        "alias_database =",
        "smtputf8_enable = no",
        "smtpd_recipient_restrictions = reject_unauth_destination",
        *extra,
    ]
    return "\n".join(settings) + "\n" + (pf / "main.cf.pemx").read_text()
