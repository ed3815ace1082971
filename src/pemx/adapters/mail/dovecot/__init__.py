"""Dovecot 2.3 as pemx's mail backend.

Dovecot reads pemx's database only through the *contract* (``docs/mail.md``):

- view ``dovecot_mailboxes`` (mailbox_id, username, login, password, quota_kb,
  max_mail_kb, retention_days, folder_language, initialized, enable_imap,
  enable_pop3, enable_owa, enable_activesync, active, and where the mailbox lives:
  store_id, store_host, store_imap_port, store_pop3_port, store_lmtp_port,
  store_imap_owa_port, store_imap_activesync_port, which a proxy reads),
- view ``dovecot_addresses`` (address, username): every address of a mailbox,
  the primary one included,
- table ``dovecot_folder_names`` (language, drafts, sent, trash, junk, archive);

and writes one table, ``mailbox_usage`` (username, storage_bytes, messages), through
quota_clone. tests/mail/contract.py holds the three objects it reads as a test double.

- ``config``: ``MailPorts`` and ``DovecotConfig``, what varies between instances;
- ``render``: the config files, from one Jinja2 template per file (``templates/2.3``);
- ``system``: the preset and files of a system Dovecot (``pemx mail-config``);
- ``instance``: ``PrivateDovecot``, an instance pemx runs itself;
- ``procfs``: /proc readings about its processes and listeners;
- ``mail_owner``: the system user that owns the mail when run as root;
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
