"""The README's Python snippet runs as written against a real server."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.mailclient import imap_login
from tests.support.server import ADMIN_PASSWORD, Server

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_snippet_provisions_a_live_mailbox(server: Server) -> None:
    text = README.read_text(encoding="utf-8")
    (snippet,) = re.findall(r"```python\n(.*?)```", text, re.DOTALL)
    snippet = snippet.replace("PASSWORD", ADMIN_PASSWORD).replace(":8440/", f":{server.port}/")
    namespace: dict[str, object] = {}
    exec(compile(snippet, "README.md", "exec"), namespace)
    mailbox = namespace["mailbox"]
    assert isinstance(mailbox, dict)
    imap_login(*server.mail("imap"), "max@muster.example", mailbox["password"]).logout()
