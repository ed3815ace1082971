"""Sending: what ``pemx serve`` runs so that mailboxes can send, by the sending rules.

- ``relay``: the embedded relay behind Dovecot's submission service (aiosmtpd);
- ``delivery``: LMTP into the stores and the smarthost, before the client's 250;
- ``smarthost``: the next hop for domains pemx does not host;
- ``policy``: the Postfix policy service (production: Postfix's submission service);
- ``milter``: the From: check for Postfix;
- ``listener``: the loopback TCP listener the last two share;
- ``services``: all of them, built from the settings, started and stopped together.

The rules themselves are ``domain.sending.check_message``; the fronts ask them through
``service.ports.SubmissionCheck`` (the use case ``service.sending.check_submission``,
bound by bootstrap to ``adapters.db.senders``, which implements ``ports.SendingReads``).
"""
