"""The private Dovecot's log rotated by size (dovecot_log_max_bytes, dovecot_log_backups)."""

from __future__ import annotations

from pathlib import Path

from pemx.adapters.mail.dovecot.logfile import rotate_if_large


def test_a_small_or_missing_log_stays(tmp_path: Path) -> None:
    log = tmp_path / "dovecot.log"
    assert not rotate_if_large(log, 10, 3)
    log.write_text("123456789")
    assert not rotate_if_large(log, 10, 3)
    assert not rotate_if_large(log, 0, 3)  # 0: never
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dovecot.log"]


def test_a_large_log_moves_up_and_the_oldest_goes(tmp_path: Path) -> None:
    log = tmp_path / "dovecot.log"
    for n in range(5):
        log.write_text(f"generation {n}\n")
        assert rotate_if_large(log, 5, 3)
        assert not log.exists()  # the writer reopens it
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["dovecot.log.1", "dovecot.log.2", "dovecot.log.3"]
    assert [(tmp_path / n).read_text() for n in names] == [
        "generation 4\n",
        "generation 3\n",
        "generation 2\n",
    ]


def test_no_backups_means_the_log_is_dropped(tmp_path: Path) -> None:
    log = tmp_path / "dovecot.log"
    log.write_text("x" * 20)
    assert rotate_if_large(log, 5, 0)
    assert list(tmp_path.iterdir()) == []
