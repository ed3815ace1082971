"""The groupware's clients for the tests and the benchmark: the web UI's JSON endpoints,
ActiveSync (WBXML over HTTP), CalDAV and CardDAV, against `pemx serve --groupware`; and
such a server on a PostgreSQL database of the session's cluster."""

from __future__ import annotations

import shutil
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from .postgres import MAIL_ROLE, PostgresCluster
from .server import IN_CI, Server, ServerDatabase, start_server
from .wbxml import T, Tag, decode, encode

SOGOD = Path("/usr/sbin/sogod")


def require_groupware() -> None:
    """Skips the test without SOGo, memcached and nginx (fails it in CI)."""
    missing = [b for b in ("memcached", "nginx") if shutil.which(b) is None]
    if not SOGOD.exists():
        missing.insert(0, "sogod")
    if not missing:
        return
    message = f"groupware packages missing ({', '.join(missing)}): scripts/install --groupware"
    if IN_CI:
        pytest.fail(message + "; CI must install them (.ci/run)")
    pytest.skip(message)


def start_groupware_server(
    cluster: PostgresCluster,
    base: Path,
    *extra: str,
    env: dict[str, str] | None = None,
    command: list[str] | None = None,
    owner: str | None = None,
) -> Server:
    """`pemx serve --groupware` on a new database of ``cluster`` (and SOGo's own beside
    it, owned by the mail role, as an operator would create it). ``command`` runs pemx
    (as another user: ``owner`` then owns the data directory)."""
    database = cluster.new_database()
    cluster.admin(f"CREATE DATABASE {database.name}_sogo OWNER {MAIL_ROLE}")
    data_dir = ServerDatabase("postgresql", database).configure(base / "node")
    if owner is not None:
        for path in (data_dir, *data_dir.rglob("*")):
            shutil.chown(path, owner, None)
    environ = {"PEMX_GROUPWARE_PORT": "0", "PEMX_SOGO_WORKERS": "2", **(env or {})}
    return start_server(data_dir, "--groupware", *extra, env=environ, command=command,
                        timeout=120)  # fmt: skip


def front(server: Server) -> str:
    return str(server.runtime["web"]["url"]).removesuffix("/SOGo/")


class Web:
    """A browser on the web UI (webmail; the owa switch)."""

    def __init__(self, base: str) -> None:
        import requests

        self.base = base
        self.session = requests.Session()

    def login(self, user: str, password: str) -> Any:
        body = {"userName": user, "password": password, "rememberLogin": 0}
        return self.session.post(f"{self.base}/SOGo/connect", json=body, timeout=60)

    def _xsrf(self) -> dict[str, str]:
        return {"X-XSRF-TOKEN": self.session.cookies.get("XSRF-TOKEN", "")}

    def folders(self, user: str) -> list[str]:
        r = self.session.get(f"{self.base}/SOGo/so/{user}/Mail/0/view", headers=self._xsrf(),
                             timeout=60, allow_redirects=False)  # fmt: skip
        return [f["path"] for f in r.json().get("mailboxes", [])]

    def inbox_subjects(self, user: str) -> list[str]:
        r = self.session.post(
            f"{self.base}/SOGo/so/{user}/Mail/0/folderINBOX/view",
            headers=self._xsrf(),
            json={"sortingAttributes": {"sort": "arrival", "asc": 0}},
            timeout=60,
            allow_redirects=False,
        )
        headers = r.json()["headers"]
        if not headers:
            return []
        index = headers[0].index("Subject")
        return sorted(row[index] for row in headers[1:])

    def search_contacts(self, user: str, text: str) -> list[str]:
        """The address book search the web UI's recipient field runs."""
        r = self.session.get(f"{self.base}/SOGo/so/{user}/Contacts/allContactSearch",
                             params={"search": text}, headers=self._xsrf(), timeout=60)  # fmt: skip
        return sorted(c.get("c_mail", [""])[0] if isinstance(c.get("c_mail"), list)
                      else c.get("c_mail", "") for c in r.json().get("contacts", []))  # fmt: skip


class ActiveSync:
    """A phone: ActiveSync 14.1 commands in WBXML, Basic auth."""

    def __init__(self, base: str, user: str, password: str) -> None:
        self.url = f"{base}/Microsoft-Server-ActiveSync"
        self.user, self.password = user, password
        self.device = "pemx" + uuid.uuid4().hex[:12]

    def post(self, command: str, body: Tag) -> Any:
        import requests

        return requests.post(
            self.url,
            params={"Cmd": command, "User": self.user, "DeviceId": self.device,
                    "DeviceType": "SmartPhone"},
            data=encode(body),
            auth=(self.user, self.password),
            headers={"MS-ASProtocolVersion": "14.1",
                     "Content-Type": "application/vnd.ms-sync.wbxml"},
            timeout=60,
        )  # fmt: skip

    def folder_sync(self) -> tuple[int, dict[str, str]]:
        """(HTTP status, {folder name: server id})."""
        r = self.post("FolderSync", T("FolderHierarchy:FolderSync", T("SyncKey", "0")))
        if r.status_code != 200 or not r.content:
            return r.status_code, {}
        root = decode(r.content)
        return 200, {_text(add, "DisplayName"): _text(add, "ServerId") for add in root.iter("Add")}

    def sync_subjects(self, collection: str) -> list[str]:
        def sync(key: str, *more: Tag) -> ET.Element:
            body = T("AirSync:Sync", T("Collections", T("Collection", T("SyncKey", key),
                     T("CollectionId", collection), *more)))  # fmt: skip
            r = self.post("Sync", body)
            assert r.status_code == 200, r.status_code
            return decode(r.content)

        key = _text(sync("0"), "SyncKey")
        changes = sync(key, T("GetChanges"), T("WindowSize", "50"))
        return sorted(e.text or "" for e in changes.iter("Subject"))

    def search_gal(self, text: str) -> list[str]:
        body = T("Search:Search", T("Store", T("Name", "GAL"), T("Query", text),
                 T("Options", T("Range", "0-99"))))  # fmt: skip
        r = self.post("Search", body)
        assert r.status_code == 200, r.status_code
        return sorted(e.text or "" for e in decode(r.content).iter("EmailAddress"))


def _text(element: ET.Element, tag: str) -> str:
    found = element.find(f".//{tag}")
    return "" if found is None or found.text is None else found.text


def dav(method: str, url: str, auth: tuple[str, str], body: str = "", **headers: str) -> Any:
    import requests

    return requests.request(method, url, data=body.encode(), auth=auth, headers=headers,
                            timeout=60)  # fmt: skip


def meeting(uid: str, start: str, end: str, organizer: str, attendees: Mapping[str, str]) -> str:
    """An iCalendar event of ``organizer``'s inviting ``attendees`` ({address: CUTYPE,
    e.g. INDIVIDUAL or ROOM}), with CRLF line ends as CalDAV clients send it."""
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//pemx//tests//EN", "BEGIN:VEVENT",
        f"UID:{uid}", "DTSTAMP:20261130T120000Z", f"DTSTART:{start}", f"DTEND:{end}",
        f"SUMMARY:Meeting {uid}", f"ORGANIZER:mailto:{organizer}",
        f"ATTENDEE;CN=Organizer;PARTSTAT=ACCEPTED;ROLE=CHAIR:mailto:{organizer}",
        *(f"ATTENDEE;CUTYPE={cutype};PARTSTAT=NEEDS-ACTION;ROLE=REQ-PARTICIPANT;RSVP=TRUE:"
          f"mailto:{address}" for address, cutype in attendees.items()),
        "END:VEVENT", "END:VCALENDAR",
    ]  # fmt: skip
    return "\r\n".join(lines) + "\r\n"


def sogo_log_text(server: Server) -> str:
    """Every log the groupware wrote (SOGo, memcached, nginx)."""
    log_dir = server.data_dir / "groupware" / "log"
    return "".join(p.read_text(errors="replace") for p in sorted(log_dir.glob("*")) if p.is_file())
