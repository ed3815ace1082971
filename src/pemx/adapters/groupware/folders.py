"""A user's personal calendar and address book in SOGo's own tables, and the free/busy
roles between the users of one customer.

SOGo 5.8 creates a person's personal folders only at the person's first request, and
``sogo-tool manage-acl subscribe`` creates them for resources only: an invitation to a
colleague who never used the groupware is lost ("Did not find folder of content
object"). So the outbox writes the folders' rows as SOGo's GCSFolderManager does (one
row in ``sogo_folder_info``; pemx runs SOGo with single-store tables, so no table per
folder) and the roles as SOGo's ACL code does (one ``sogo_acl`` row per role): a whole
customer in one transaction, where sogo-tool would start one process per pair. SOGo's
cached ACLs of those folders are dropped by the caller (SogoCache)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from pemx.adapters.groupware.cache import calendar_path, sogo_uid
from pemx.adapters.groupware.config import SogoDatabase
from pemx.service.ports import MailBackendUnavailable

__all__ = ["FREE_BUSY_ROLES", "SogoFolders"]

#: What a colleague holds on a user's personal calendar: the date and time of its events
#: of every class, never their title or details. SOGo fills a user's free/busy for an
#: asker only from events the asker may see the date and time of; it has no role for
#: free/busy alone ("FreeBusyReader" gates no listing in 5.8).
FREE_BUSY_ROLES = ("PublicDAndTViewer", "PrivateDAndTViewer", "ConfidentialDAndTViewer")

#: (SOGo's folder type, the folder's name as SOGo's web UI names a new one)
PERSONAL_FOLDERS = {
    "Calendar": ("Appointment", "Personal Calendar"),
    "Contacts": ("Contact", "Personal Address Book"),
}


@dataclass(frozen=True)
class SogoFolders:
    """SOGo's own database (the instances' OCSFolderInfoURL and OCSAclURL)."""

    storage: SogoDatabase
    timeout_s: float = 10.0

    def open_calendar(self, mailbox_id: int, colleagues: Sequence[int]) -> None:
        """The user's personal calendar and address book exist (and the colleagues'
        calendars), and the user and each colleague may see each other's free/busy.
        Idempotent: an existing folder or role is kept as it is."""
        import psycopg  # only a groupware node needs it

        users = sorted({mailbox_id, *colleagues})
        try:
            with psycopg.connect(self._dsn(), connect_timeout=int(self.timeout_s)) as db:
                for module, (kind, title) in PERSONAL_FOLDERS.items():
                    owners = users if module == "Calendar" else [mailbox_id]
                    for owner in owners:
                        db.execute(_CREATE_FOLDER, self._folder_row(owner, module, kind, title))
                ids: dict[str, int] = dict(
                    db.execute(
                        "SELECT c_path2, c_folder_id FROM sogo_folder_info"
                        " WHERE c_path3 = 'Calendar' AND c_path4 = 'personal'"
                        " AND c_path2 = ANY(%s)",
                        ([sogo_uid(u) for u in users],),
                    ).fetchall()
                )
                grants = [
                    {
                        "folder": ids[sogo_uid(owner)],
                        "object": f"/{calendar_path(owner)}",
                        "uid": sogo_uid(viewer),
                        "role": role,
                    }
                    for owner, viewer in _pairs(mailbox_id, colleagues)
                    for role in FREE_BUSY_ROLES
                ]
                with db.cursor() as cursor:
                    cursor.executemany(_GRANT, grants)
        except psycopg.Error as exc:  # SOGo's database down: the outbox retries
            raise MailBackendUnavailable(f"SOGo's database: {exc}") from exc

    def unopened(self, mailbox_ids: Sequence[int]) -> list[int]:
        """The users without a personal calendar, or holding no free/busy role (one
        alone in its customer, too: its task is then short)."""
        import psycopg

        uids = [sogo_uid(m) for m in mailbox_ids]
        try:
            with psycopg.connect(self._dsn(), connect_timeout=int(self.timeout_s)) as db:
                opened = {
                    row[0]
                    for row in db.execute(_OPENED, {"uids": uids, "role": FREE_BUSY_ROLES[1]})
                }
        except psycopg.Error as exc:
            raise MailBackendUnavailable(f"SOGo's database: {exc}") from exc
        return [m for m, uid in zip(mailbox_ids, uids, strict=True) if uid not in opened]

    def forget_user(self, mailbox_id: int) -> None:
        """A removed user's roles on the others' folders go (``sogo-tool remove`` deletes
        the user's own folders and settings only)."""
        import psycopg

        try:
            with psycopg.connect(self._dsn(), connect_timeout=int(self.timeout_s)) as db:
                db.execute("DELETE FROM sogo_acl WHERE c_uid = %s", (sogo_uid(mailbox_id),))
        except psycopg.Error as exc:
            raise MailBackendUnavailable(f"SOGo's database: {exc}") from exc

    def _dsn(self) -> str:
        return self.storage.url("x").removesuffix("/x")  # SOGo's URL less its table

    def _folder_row(self, owner: int, module: str, kind: str, title: str) -> dict[str, str]:
        uid = sogo_uid(owner)
        path = f"/Users/{uid}/{module}/personal"
        # SOGo names a folder's tables "sogo<uid><hash>"; with single-store tables they
        # are never created, but SOGo keeps the names in the row
        table = f"sogo{uid}{hashlib.sha1(path.encode()).hexdigest()[:12]}"
        base = self.storage.url(table)
        return {
            "path": path, "uid": uid, "module": module, "name": title, "kind": kind,
            "location": base, "quick": f"{base}_quick", "acl": f"{base}_acl",
        }  # fmt: skip


def _pairs(mailbox_id: int, colleagues: Sequence[int]) -> list[tuple[int, int]]:
    """(owner, viewer): the user on each colleague's calendar, each colleague on his."""
    others = sorted(set(colleagues) - {mailbox_id})
    return [pair for c in others for pair in ((c, mailbox_id), (mailbox_id, c))]


_CREATE_FOLDER = """
INSERT INTO sogo_folder_info (c_path, c_path1, c_path2, c_path3, c_path4, c_foldername,
    c_location, c_quick_location, c_acl_location, c_folder_type)
VALUES (%(path)s, 'Users', %(uid)s, %(module)s, 'personal', %(name)s,
    %(location)s, %(quick)s, %(acl)s, %(kind)s)
ON CONFLICT (c_path) DO NOTHING
"""

# Users with a personal calendar who hold a role only open_calendar grants
_OPENED = """
SELECT f.c_path2 FROM sogo_folder_info f
WHERE f.c_path2 = ANY(%(uids)s) AND f.c_path3 = 'Calendar' AND f.c_path4 = 'personal'
  AND EXISTS (SELECT 1 FROM sogo_acl a WHERE a.c_uid = f.c_path2 AND a.c_role = %(role)s)
"""

_GRANT = """
INSERT INTO sogo_acl (c_folder_id, c_object, c_uid, c_role)
SELECT %(folder)s::integer, %(object)s::varchar, %(uid)s::varchar, %(role)s::varchar
WHERE NOT EXISTS (SELECT 1 FROM sogo_acl a WHERE a.c_folder_id = %(folder)s::integer
                  AND a.c_uid = %(uid)s::varchar AND a.c_role = %(role)s::varchar)
"""
