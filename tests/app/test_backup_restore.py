"""File → Backup / Restore in the running app, and scheduled automatic backups."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import BackupSchedule
from engine.flowfile import load_flow
from tests.app.conftest import EXAMPLES
from tests.app.helpers import listed, switch

LONG = {"format": "flowdesk/1", "name": "long", "nodes": [
    {"id": "start", "kind": "start"}, {"id": "wait", "kind": "delay", "config": {"seconds": 30}},
    {"id": "end", "kind": "end"}], "edges": [{"from": "start", "to": "wait"},
                                             {"from": "wait", "to": "end"}]}


def _run(window, qtbot, name: str = "hello.flow.json", inputs: dict | None = None) -> str:  # noqa: ANN001
    store = window.connection.store
    run_id = store.create_run(load_flow(EXAMPLES / name), inputs or {})
    window.bridge.execute(run_id)
    qtbot.waitUntil(lambda: store.get_run(run_id)["status"] == "succeeded", timeout=20000)
    qtbot.waitUntil(lambda: window.bridge.active_count() == 0)
    return run_id


def _wait(window, qtbot, what: str, action) -> tuple[bool, str]:  # noqa: ANN001
    with qtbot.waitSignal(window.backup.finished, timeout=60000,
                          check_params_cb=lambda w, _ok, _m: w == what) as blocker:
        action()
    _what, ok, message = blocker.args
    if window.monitor is not None:  # a restore reads the list again, in a thread
        listed(qtbot, window.monitor)
    return ok, message


def test_restore_while_the_app_has_the_store_open(window, qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    from engine.flowfile import flow_from_dict

    first = _run(window, qtbot, inputs={"who": "before"})
    archive = tmp_path / "one-run.fdbackup"
    ok, message = _wait(window, qtbot, "backup", lambda: window.backup.backup_to(archive))
    assert ok, message
    assert message == f"Backed up 1 runs to {archive}."
    second = _run(window, qtbot, inputs={"who": "after"})
    monitor = listed(qtbot, window.show_monitor())
    assert monitor.model.total == 2
    monitor.select_run(second)
    # a run executing in the app while we restore: it is paused first
    long_id = window.connection.store.create_run(flow_from_dict(LONG), {})
    window.bridge.execute(long_id)
    qtbot.waitUntil(lambda: window.connection.store.get_run(long_id)["nodes"]["wait"]["status"]
                    == "running", timeout=10000)
    window.backup.confirm = lambda text: "one-run.fdbackup" in text
    ok, message = _wait(window, qtbot, "restore", lambda: window.backup.restore_from(archive))
    assert ok, message
    assert message.startswith("Restored 1 runs from one-run.fdbackup.")
    assert "1 run(s) of this app were paused" in message
    pre = window.backup.last_pre_restore
    assert pre is not None and pre.exists() and str(pre) in message
    assert window.bridge.active_count() == 0
    # the app shows the restored state: one run, the first one, and it keeps following
    store = window.connection.store
    assert [r["run_id"] for r in store.list_runs()] == [first]
    assert monitor.model.total == 1 and list(monitor.model.row_of) == [first]
    assert monitor.run_id is None
    third = _run(window, qtbot, inputs={"who": "later"})
    qtbot.waitUntil(lambda: third in monitor.model.row_of, timeout=10000)
    # the automatic pre-restore backup brings the old state back
    window.backup.confirm = lambda text: pre.name in text
    ok, message = _wait(window, qtbot, "restore", lambda: window.backup.restore_from(pre))
    assert ok, message
    ids = {r["run_id"] for r in window.connection.store.list_runs()}
    assert {first, second, long_id} <= ids and third not in ids
    assert monitor.model.total == len(ids)
    # the long run, interrupted by the first restore, is taken over again
    assert "1 interrupted run(s) resumed" in message
    assert window.bridge.active_runs() == [long_id]
    window.connection.store.request_cancel(long_id)
    qtbot.waitUntil(lambda: window.bridge.active_count() == 0, timeout=5000)
    run = window.connection.store.get_run(long_id)
    assert run["status"] == "cancelled" and run["nodes"]["wait"]["status"] == "cancelled"


def test_a_damaged_archive_is_refused_and_nothing_changes(window, qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    _run(window, qtbot)
    archive = tmp_path / "good.fdbackup"
    ok, _ = _wait(window, qtbot, "backup", lambda: window.backup.backup_to(archive))
    assert ok
    _run(window, qtbot)
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad = tmp_path / "bad.fdbackup"
    bad.write_bytes(bytes(data))
    window.backup.confirm = lambda _text: True
    ok, message = _wait(window, qtbot, "restore", lambda: window.backup.restore_from(bad))
    assert not ok
    assert message.startswith("Nothing was restored: ")
    assert "\n" not in message
    assert window.connection.store.count_runs() == 2
    foreign = tmp_path / "notes.fdbackup"
    foreign.write_text("just some text")
    ok, message = _wait(window, qtbot, "restore", lambda: window.backup.restore_from(foreign))
    assert not ok and message.startswith("Nothing was restored: ")
    assert window.connection.store.count_runs() == 2
    # saying no to the question changes nothing either
    window.backup.confirm = lambda _text: False
    ok, message = _wait(window, qtbot, "restore", lambda: window.backup.restore_from(archive))
    assert not ok and message == "Restore cancelled; nothing changed."
    assert window.connection.store.count_runs() == 2
    assert window.bridge._follower is not None  # still following the log


def test_scheduled_backups_keep_the_newest(window, qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    _run(window, qtbot)
    folder = tmp_path / "auto"
    schedule = BackupSchedule(enabled=True, interval_min=5, keep=2, folder=str(folder))
    window.settings.set_backup_schedule(schedule)
    window.backup.apply_schedule(schedule)
    assert window.backup.timer.isActive() and window.backup.timer.interval() == 300_000
    for _ in range(3):
        ok, message = _wait(window, qtbot, "auto", window.backup.automatic_backup)
        assert ok, message
    kept = sorted(folder.glob("auto-*.fdbackup"))
    assert len(kept) == 2
    assert "1 old one(s) removed" in message
    window.backup.apply_schedule(BackupSchedule(enabled=False))
    assert not window.backup.timer.isActive()


@pytest.mark.postgres
def test_restore_a_sqlite_backup_into_an_open_postgres_profile(window, qtbot, tmp_path: Path,
                                                               pg_url: str) -> None:  # noqa: ANN001
    from app.profiles import make_profile

    first = _run(window, qtbot, inputs={"who": "sqlite"})
    archive = tmp_path / "local.fdbackup"
    ok, message = _wait(window, qtbot, "backup", lambda: window.backup.backup_to(archive))
    assert ok, message
    profile, password = make_profile("shared", "postgresql", pg_url)
    window.profiles.save(profile, password)
    assert switch(window, qtbot, "shared")
    pg_run = _run(window, qtbot, inputs={"who": "postgres"})
    monitor = listed(qtbot, window.show_monitor())
    assert list(monitor.model.row_of) == [pg_run]
    window.backup.confirm = lambda _text: True
    ok, message = _wait(window, qtbot, "restore", lambda: window.backup.restore_from(archive))
    assert ok, message
    assert list(monitor.model.row_of) == [first]
    run = window.connection.store.get_run(first)
    assert run["outputs"] == {"greeting": "Hello, sqlite!"}
    assert "127.0.0.1" in window.connection_label.text()
    # the store keeps working: a new run gets the next ids, the monitor follows it
    later = _run(window, qtbot, inputs={"who": "again"})
    qtbot.waitUntil(lambda: later in monitor.model.row_of, timeout=10000)


def test_schedule_dialog_gives_the_schedule(qtbot, window) -> None:  # noqa: ANN001
    from app.backup_actions import ScheduleDialog

    dialog = ScheduleDialog(BackupSchedule(), window)
    qtbot.addWidget(dialog)
    assert not dialog.enabled.isChecked() and dialog.interval.value() == 60
    assert dialog.folder.placeholderText().endswith("backups")
    dialog.enabled.setChecked(True)
    dialog.interval.setValue(15)
    dialog.keep.setValue(3)
    dialog.folder.setText("/srv/flowdesk-backups")
    assert dialog.schedule() == BackupSchedule(True, 15, 3, "/srv/flowdesk-backups")
    window.settings.set_backup_schedule(dialog.schedule())
    assert window.settings.backup_schedule() == BackupSchedule(True, 15, 3,
                                                               "/srv/flowdesk-backups")
