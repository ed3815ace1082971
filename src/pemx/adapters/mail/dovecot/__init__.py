"""Dovecot 2.3 as pemx's mail backend.

Dovecot reads pemx's database through the *contract* (``docs/mail.md``): the views
``dovecot_mailboxes`` (a mailbox's login, password, limits, protocol switches, store
and the store's host and ports) and ``dovecot_addresses`` (every address of a
mailbox), and the table ``dovecot_folder_names`` (the localized special folders). It
writes one table, ``mailbox_usage`` (quota_clone). tests/mail/contract.py holds the
same objects as a test double.

- ``config``: ``MailPorts`` and ``DovecotConfig``, what varies between instances;
- ``render``: the config files, from one Jinja2 template per file (``templates/2.3``);
- ``system``: the preset and files of a system Dovecot (``pemx mail-config``);
- ``instance``: ``PrivateDovecot``, an instance pemx runs itself;
- ``procfs``: /proc readings about its processes and listeners;
- ``doveadm``: ``DoveadmHttp``, the side effects SQL cannot perform;
- ``folders``: carrying special folders over after a language change;
- ``errors``: ``MailBackendError``.
"""

from pemx.adapters.mail.dovecot.config import DovecotConfig, MailPorts
from pemx.adapters.mail.dovecot.doveadm import DoveadmHttp, QuotaUsage
from pemx.adapters.mail.dovecot.errors import MailBackendError
from pemx.adapters.mail.dovecot.instance import PrivateDovecot, dovecot_version, find_dovecot
from pemx.adapters.mail.dovecot.render import (
    render_dovecot_conf,
    render_sql_conf,
    render_usage_conf,
)

__all__ = [
    "DoveadmHttp",
    "DovecotConfig",
    "MailBackendError",
    "MailPorts",
    "PrivateDovecot",
    "QuotaUsage",
    "dovecot_version",
    "find_dovecot",
    "render_dovecot_conf",
    "render_sql_conf",
    "render_usage_conf",
]
