"""A short fuzz campaign (bench/fuzz.py runs the long one): 2,000 hostile calls against
a real `pemx serve`, on each database; see campaign.py for what must hold."""

from __future__ import annotations

import shutil
from collections.abc import Callable

from pemx.api.methods import REGISTRY
from tests.fuzz.campaign import run_campaign
from tests.support.server import ServerDatabase, server_base, start_server, stop_server


def test_hostile_calls_change_nothing_and_leak_nothing(
    new_database: Callable[[], ServerDatabase],
) -> None:
    base = server_base()
    data_dir = new_database().configure(base / "data")
    server = start_server(data_dir, "--no-mail", env={"PEMX_LOG_LEVEL": "INFO"})
    try:
        report = run_campaign(server, REGISTRY, calls=2000, clients=4, log_file=base / "data.log")
    finally:
        stop_server(server)
        shutil.rmtree(base, ignore_errors=True)
    assert report.calls == 2000
    assert not report.violations, report.render()
    # Every kind of defect was sent, and refused somewhere along the way.
    assert len(report.defects) > 20
    assert report.outcomes["refused OpenAPI/21"] > 500
