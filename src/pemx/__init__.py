"""pemx: the Operations (OA) public API for hosted mailboxes, made real on Dovecot."""

__version__ = "0.1.0"
