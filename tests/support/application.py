"""The application as bootstrap builds it, in process, on a temporary SQLite database:
migrated once (with the provider and its admin) into a template file, copied per test.

The in-process tiers (tests/unit/api, tests/unit/service) build theirs through
``Applications``; a test may hand in its own mail backend and clock.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from pemx.adapters.db.audit import utcnow
from pemx.adapters.db.database import Database
from pemx.adapters.passwords import BcryptHasher
from pemx.bootstrap import Application, build_application, cli_unit_of_work, prepare_database
from pemx.config import Settings
from pemx.service import setup
from pemx.service.ports import MailBackend

from .inprocess import ADMIN_LOGIN, ADMIN_PASSWORD

# Fast hashes (bcrypt's minimum cost): the tests exercise the calls, not the hash. No
# Dovecot, and no worker thread unless a test asks for one (worker=True builds it; the
# test then runs it step by step with run_once).
SETTINGS = Settings(data_dir=Path("unused"), bcrypt_rounds=4, mail=False, worker=False)
DATABASE_FILE = "pemx.db"


def migrated_template(directory: Path) -> Path:
    """A migrated SQLite file with the provider and its admin: the start of every test."""
    settings = dataclasses.replace(SETTINGS, data_dir=directory)
    database = prepare_database(settings)
    try:
        environ = {"PEMX_ADMIN_LOGIN": ADMIN_LOGIN, "PEMX_ADMIN_PASSWORD": ADMIN_PASSWORD}
        uow = cli_unit_of_work(database, "create provider")
        setup.ensure_provider(uow, BcryptHasher(settings.bcrypt_rounds), environ)
    finally:
        database.dispose()  # checkpoints the WAL: the file alone is the whole database
    return directory / DATABASE_FILE


class Applications:
    """Builds applications on one test's copy of the template; ``close`` closes them all."""

    def __init__(self, template: Path, data_dir: Path) -> None:
        self.data_dir = data_dir
        shutil.copyfile(template, data_dir / DATABASE_FILE)
        self.built: list[Application] = []

    def build(
        self,
        *,
        mail: MailBackend | None = None,
        clock: Callable[[], datetime] = utcnow,
        **overrides: Any,
    ) -> Application:
        """The application with these settings overridden (max_body_bytes, worker, ...).
        ``mail`` defaults to bootstrap's (the stores' doveadm APIs, none reachable here)."""
        settings = dataclasses.replace(SETTINGS, data_dir=self.data_dir, **overrides)
        database = Database(settings.database, pool_size=4)
        app = build_application(settings, database, mail=mail, clock=clock)
        self.built.append(app)
        return app

    def close(self) -> None:
        for app in self.built:
            app.close()
