"""File → Backup…, Restore… and scheduled automatic backups, over :mod:`engine.backup`.

Long work runs in a worker thread and reports progress to a QProgressDialog
through queued signals; the GUI never waits. Restore asks first, verifies the
whole archive before touching anything, pauses this app's executors, restores
with ``force`` (the engine saves the current state as an automatic pre-restore
backup first), reopens the store, refreshes every view and says where that
pre-restore backup is, so a mistaken restore can be undone by restoring it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QMessageBox,
    QProgressDialog,
    QPushButton,
    QSpinBox,
    QWidget,
)

from app.settings import BackupSchedule
from engine.errors import describe_exception

if TYPE_CHECKING:
    from app.mainwindow import MainWindow

FILE_FILTER = "Flowdesk backups (*.fdbackup);;All files (*)"


class _Job(QObject):
    """One piece of work in a thread; progress and the result come back queued."""

    progress = Signal(int, int, str)
    done = Signal(object, str)      # result, error sentence ("" when it worked)

    def __init__(self, fn: Callable[[Callable[[int, int, str], None]], Any]) -> None:
        super().__init__()
        self.fn = fn
        self.thread = threading.Thread(target=self._run, name="flowdesk-backup", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        try:
            result = self.fn(lambda d, t, m: self.progress.emit(int(d), int(t), str(m)))
        except Exception as exc:  # noqa: BLE001 - one sentence for the user
            self.done.emit(None, describe_exception(exc))
            return
        self.done.emit(result, "")


class BackupActions(QObject):
    """The backup and restore actions of one main window."""

    finished = Signal(str, bool, str)   # what ("backup", "restore", "auto"), ok, message

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.job: _Job | None = None
        self.progress_dialog: QProgressDialog | None = None
        self.last_message = ""
        self.last_pre_restore: Path | None = None
        self.confirm: Callable[[str], bool] = self._ask
        self.backup_action = QAction("&Backup…", window)
        self.backup_action.setToolTip("Save every run and flow of this store into one archive")
        self.backup_action.triggered.connect(self.choose_backup)
        self.restore_action = QAction("&Restore…", window)
        self.restore_action.setToolTip("Replace this store's contents with an archive")
        self.restore_action.triggered.connect(self.choose_restore)
        self.schedule_action = QAction("Backup &schedule…", window)
        self.schedule_action.triggered.connect(self.edit_schedule)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.automatic_backup)
        self.apply_schedule(window.settings.backup_schedule())

    # -- helpers ------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.job is not None

    def _ask(self, text: str) -> bool:
        answer = QMessageBox.question(self.window, "Restore", text,
                                      QMessageBox.StandardButton.Yes
                                      | QMessageBox.StandardButton.Cancel,
                                      QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Yes

    def _start(self, title: str, fn: Callable[..., Any],
               on_done: Callable[[Any, str], None], *, show: bool = True) -> bool:
        if self.job is not None:
            self.window.say("A backup or restore is already in progress.")
            return False
        job = _Job(fn)
        self.job = job
        if show:
            dialog = QProgressDialog(title, "", 0, 0, self.window)
            dialog.setObjectName("backupProgress")
            dialog.setWindowTitle("Flowdesk")
            dialog.setCancelButton(None)  # type: ignore[arg-type]
            dialog.setWindowModality(Qt.WindowModality.WindowModal)
            dialog.setMinimumDuration(300)
            dialog.setAutoClose(False)
            dialog.setAutoReset(False)
            self.progress_dialog = dialog
            job.progress.connect(self._progress, Qt.ConnectionType.QueuedConnection)

        def finish(result: Any, error: str) -> None:
            job.thread.join(5)
            self.job = None
            if self.progress_dialog is not None:
                self.progress_dialog.close()
                self.progress_dialog.deleteLater()
                self.progress_dialog = None
            on_done(result, error)

        job.done.connect(finish, Qt.ConnectionType.QueuedConnection)
        job.start()
        return True

    @Slot(int, int, str)
    def _progress(self, done: int, total: int, message: str) -> None:
        dialog = self.progress_dialog
        if dialog is None:
            return
        if total > 0:
            dialog.setMaximum(total)
            dialog.setValue(min(done, total))
        dialog.setLabelText(message[:1].upper() + message[1:])

    def _report(self, what: str, ok: bool, message: str) -> None:
        self.last_message = message
        self.window.say(message)
        self.finished.emit(what, ok, message)

    # -- backup ---------------------------------------------------------------------------
    def choose_backup(self) -> None:
        start = str(self.window.settings.backup_schedule().effective_folder())
        path, _ = QFileDialog.getSaveFileName(self.window, "Back up the store", start,
                                              FILE_FILTER)
        if path:
            if not path.endswith(".fdbackup"):
                path += ".fdbackup"
            self.backup_to(path)

    def backup_to(self, path: str | Path) -> bool:
        from engine.backup import create_backup

        connection = self.window._require_connection()
        if connection is None:
            return False
        engine = connection.store.engine
        target = Path(path)

        def work(progress: Callable[[int, int, str], None]) -> Any:
            target.parent.mkdir(parents=True, exist_ok=True)
            return create_backup(engine, target, progress=progress)

        def done(manifest: Any, error: str) -> None:
            if error:
                self._report("backup", False, f"Backup failed: {error}")
                return
            runs = manifest.row_counts.get("runs", 0) if manifest else 0
            self._report("backup", True, f"Backed up {runs} runs to {target}.")

        return self._start(f"Backing up to {target.name}…", work, done)

    # -- restore ----------------------------------------------------------------------------
    def choose_restore(self) -> None:
        start = str(self.window.settings.backup_schedule().effective_folder())
        path, _ = QFileDialog.getOpenFileName(self.window, "Restore the store from",
                                              start, FILE_FILTER)
        if path:
            self.restore_from(path)

    def restore_from(self, path: str | Path) -> bool:
        """Confirm, verify, pause, restore, reopen; every refusal leaves the store as it was."""
        from engine.backup import live_runs, restore_backup, verify_backup
        from engine.store import data_dir

        source = Path(path)
        connection = self.window._require_connection()
        if connection is None:
            return False
        where = connection.describe()
        if not self.confirm(f"Replace everything in {where} with the archive {source.name}?\n\n"
                            "The current state is saved as an automatic backup first, so "
                            "you can undo this by restoring that backup."):
            self._report("restore", False, "Restore cancelled; nothing changed.")
            return False
        state: dict[str, Any] = {"paused": []}

        def verified(manifest: Any, error: str) -> None:
            if error:
                self._report("restore", False, f"Nothing was restored: {error}")
                return
            bridge = self.window.bridge
            state["paused"] = bridge.pause_runs()
            bridge.stop()
            engine = connection.store.engine
            others = [r for r in live_runs(engine) if r not in state["paused"]]
            if others:
                bridge.start()
                self._report("restore", False, f"Nothing was restored: {len(others)} run(s) "
                             "are being executed by other processes on this store; stop them "
                             "first.")
                return

            def work(progress: Callable[[int, int, str], None]) -> Any:
                return restore_backup(engine, source, force=True, progress=progress,
                                      pre_restore_dir=data_dir() / "backups")

            self._start(f"Restoring {source.name}…", work, restored)

        def restored(result: Any, error: str) -> None:
            reopen_error = ""
            try:
                self.window.reopen_connection()
            except Exception as exc:  # noqa: BLE001
                reopen_error = describe_exception(exc)
            if error:
                self._report("restore", False, f"Nothing was restored: {error}")
                return
            self.last_pre_restore = result.pre_restore_path
            runs = result.manifest.row_counts.get("runs", 0)
            message = f"Restored {runs} runs from {source.name}."
            if result.pre_restore_path:
                message += (f" The state before the restore was saved to "
                            f"{result.pre_restore_path}; restore that file to undo.")
            if state["paused"]:
                message += f" {len(state['paused'])} run(s) of this app were paused."
            if self.window.resumed:
                message += f" {len(self.window.resumed)} interrupted run(s) resumed."
            if reopen_error:
                message += f" Reopening the store failed: {reopen_error}"
            self._report("restore", not reopen_error, message)

        return self._start(f"Verifying {source.name}…",
                           lambda progress: verify_backup(source, progress=progress), verified)

    # -- the schedule -------------------------------------------------------------------------
    def apply_schedule(self, schedule: BackupSchedule) -> None:
        self.timer.stop()
        if schedule.enabled:
            self.timer.start(schedule.interval_min * 60_000)

    def automatic_backup(self) -> bool:
        """One scheduled backup into the schedule's folder, then prune to ``keep``."""
        from engine.backup import automatic_backup_name, create_backup, prune_backups

        schedule = self.window.settings.backup_schedule()
        folder = Path(schedule.effective_folder())
        connection = self.window._require_connection()
        if connection is None:
            return False
        engine = connection.store.engine

        def work(progress: Callable[[int, int, str], None]) -> Any:
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / automatic_backup_name()
            create_backup(engine, target, progress=progress)
            removed = prune_backups(folder, schedule.keep, pattern="auto-*.fdbackup")
            return target, removed

        def done(result: Any, error: str) -> None:
            if error:
                self._report("auto", False, f"Automatic backup failed: {error}")
            else:
                self._report("auto", True, f"Automatic backup saved to {result[0]} "
                             f"({len(result[1])} old one(s) removed).")

        return self._start("Automatic backup…", work, done, show=False)

    def edit_schedule(self) -> None:
        dialog = ScheduleDialog(self.window.settings.backup_schedule(), self.window)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            schedule = dialog.schedule()
            self.window.settings.set_backup_schedule(schedule)
            self.apply_schedule(schedule)
            self.window.say("Automatic backups " + (
                f"every {schedule.interval_min} min, keeping {schedule.keep}."
                if schedule.enabled else "are off."))


class ScheduleDialog(QDialog):
    """Tools → Backup schedule: on/off, interval, how many to keep, where."""

    def __init__(self, schedule: BackupSchedule, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Automatic backups")
        form = QFormLayout(self)
        self.enabled = QCheckBox("Back up automatically")
        self.enabled.setChecked(schedule.enabled)
        self.interval = QSpinBox()
        self.interval.setRange(1, 7 * 24 * 60)
        self.interval.setSuffix(" min")
        self.interval.setValue(schedule.interval_min)
        self.keep = QSpinBox()
        self.keep.setRange(1, 1000)
        self.keep.setValue(schedule.keep)
        self.folder = QLineEdit(schedule.folder)
        self.folder.setPlaceholderText(schedule.effective_folder())
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        form.addRow(self.enabled)
        form.addRow("Every", self.interval)
        form.addRow("Keep the newest", self.keep)
        form.addRow("Folder", row)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Backup folder", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def schedule(self) -> BackupSchedule:
        return BackupSchedule(self.enabled.isChecked(), self.interval.value(),
                              self.keep.value(), self.folder.text().strip())
