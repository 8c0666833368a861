"""The main window: the designer in the centre, docks around it, the engine behind it.

Menus File, Edit, View, Run, Tools and Help; a toolbar with the common
actions; a status bar with the current connection (profile and store, password
hidden) and the engine's state. Window and dock layout, recent files and the
chosen profile are remembered in :class:`app.settings.AppSettings`. The run
monitor, the executor and the backup code are imported only when first used,
so the window opens fast.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QToolBar,
    QWidget,
)

from app.background import Background
from app.bridge import EngineBridge
from app.profiles import Connection, Profile, ProfileBook, ProfileError, open_connection
from app.run_panel import RunPanel
from app.runner import RunController
from app.settings import AppSettings
from designer.editor import FlowEditor

if TYPE_CHECKING:
    from app.backup_actions import BackupActions
    from app.monitor import RunMonitor
    from app.theme import ThemeManager

DOCS = Path(__file__).resolve().parents[1] / "docs" / "app.md"


def _actions_of(obj: Any) -> list[QAction]:
    """The QActions an editor helper offers (``all()``, a list, or attributes)."""
    if obj is None:
        return []
    if hasattr(obj, "all") and callable(obj.all):
        return [a for a in obj.all() if isinstance(a, QAction)]
    if isinstance(obj, (list, tuple)):
        return [a for a in obj if isinstance(a, QAction)]
    return [a for a in vars(obj).values() if isinstance(a, QAction)]


def _is_view_action(action: QAction) -> bool:
    """Zoom, grid and minimap belong in the View menu; the rest of the editor's in Edit."""
    text = action.text().replace("&", "").lower()
    return any(word in text for word in ("zoom", "grid", "minimap"))


class MainWindow(QMainWindow):
    """The Flowdesk application window."""

    connected = Signal()
    profileSwitched = Signal(bool, str)  # ok, the sentence shown in the status bar

    def __init__(self, settings: AppSettings | None = None, *,
                 theme: ThemeManager | None = None, show_welcome: bool = True,
                 defer_connection: bool = False) -> None:
        """With ``defer_connection`` the caller opens the store (see :func:`app.main.present`)."""
        super().__init__()
        self.setObjectName("mainWindow")
        self.settings = settings or AppSettings()
        self.theme = theme
        self.profiles = ProfileBook(self.settings)
        self.last_message = ""
        self.monitor: RunMonitor | None = None
        self.resumed: list[str] = []
        self._shut_down = False
        # the question asked before quitting with runs active (tests answer it)
        self.confirm_close_with_runs = self._ask_close_with_runs
        self.connection: Connection | None = None
        self._connecting = False  # a store is being opened in a thread
        self.background = Background(self)
        self.bridge = EngineBridge(None, self)
        self.editor = FlowEditor(self)
        self.setCentralWidget(self.editor)
        self._settle_edit_actions()
        self.runner = RunController(self, lambda: self.bridge, lambda: self.editor.scene)
        self.run_panel = RunPanel()
        self._build_docks()
        from app.backup_actions import BackupActions

        self.backup: BackupActions = BackupActions(self)
        # Remote mode (app/remote.py) loads the HTTP client and the store: it is set up
        # in connect_store, after the window has painted (see _add_remote_actions).
        self.remote: Any = None
        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_status_bar()
        self.bridge.events.connect(self.runner.on_events)
        self.bridge.events.connect(self.run_panel.on_events)
        self.bridge.activeChanged.connect(self._engine_state)
        self.bridge.storeProblem.connect(self._store_problem)
        self.bridge.runError.connect(lambda run_id, msg: self.say(f"Run {run_id[:12]} "
                                                                  f"stopped: {msg}"))
        self.runner.started.connect(self._run_started)
        self.runner.refused.connect(self._run_refused)
        self.runner.failedToStart.connect(lambda msg: self.say(f"Cannot start the run: {msg}"))
        self.run_panel.showInMonitor.connect(self.show_run_in_monitor)
        self.editor.titleChanged.connect(self._retitle)
        self.editor.message.connect(self.say)
        self.editor.document.pathChanged.connect(self._path_changed)
        if not defer_connection:
            self.connect_store()
        self._retitle()
        self.resize(1280, 800)
        geometry = self.settings.window_geometry("main")
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = self.settings.window_state("main")
        if state is not None:
            self.restoreState(state)
        else:  # first start: most of the room for the canvas
            self.resizeDocks([self.palette_dock, self.properties_dock], [230, 320],
                             Qt.Orientation.Horizontal)
            self.resizeDocks([self.problems_dock], [170], Qt.Orientation.Vertical)
        if show_welcome and not self.settings.welcome_seen():
            QTimer.singleShot(0, self.show_welcome)

    # -- connection -------------------------------------------------------------------------
    def _open_first_connection(self, profile: Profile) -> tuple[Connection, str]:
        """In a thread: the remembered profile, else Local (and why), never on the GUI thread."""
        try:
            return open_connection(profile), ""
        except ProfileError as exc:
            note = f"Could not open profile {profile.name}: {exc} Using Local."
            return open_connection(self.profiles.get(None)), note

    def connect_store(self) -> None:
        """Open the remembered profile (or Local) in a thread and start following it.

        Opening a store means migrations, a PostgreSQL connect or a server's token
        refresh: a dead host may take seconds, so the window stays live meanwhile and
        the status bar says ``Connecting to …``; :attr:`connected` says when it is done.
        """
        if self.connection is not None or self._connecting:
            return
        self._add_remote_actions()
        self._connecting = True
        profile = self.profiles.get(self.settings.current_profile())
        self.statusBar().showMessage(f"Connecting to {profile.name} ({profile.describe()})…")
        self.background.call(lambda: self._open_first_connection(profile),
                             self._first_connection_opened)

    def _first_connection_opened(self, result: Any, error: str) -> None:
        self._connecting = False
        if self._shut_down:
            if result is not None:
                result[0].close()
            return
        if result is None:
            self.say(f"Cannot open even the local store: {error}")
            self.connection_label.setText("not connected")
            return
        self.connection, note = result
        self.last_message = note
        self.bridge.set_store(self.connection.store)
        self.bridge.start()
        self.resumed = self.bridge.resume_orphans()
        if self.resumed:
            self.last_message = (f"{note} " if note else "") + \
                f"Resumed {len(self.resumed)} interrupted run(s)."
        self.statusBar().showMessage(self.last_message or
                                     f"Connected to {self.connection.describe()}.", 15000)
        if self.monitor is not None:  # opened while connecting: show this store's runs
            self.monitor.refresh()
        self._show_connection()
        self.connected.emit()

    def _add_remote_actions(self) -> None:
        """File → Connect to server… and the other remote-mode actions, before Quit."""
        if self.remote is not None:
            return
        from app.remote import RemoteActions

        self.remote = RemoteActions(self)
        self.file_menu.insertActions(self._remote_anchor, self.remote.all())

    def _require_connection(self) -> Connection | None:
        if self.connection is None:
            self.say("Still opening the store; try again in a moment.")
        return self.connection

    def switch_profile(self, name: str,
                       on_done: Callable[[bool], None] | None = None) -> None:
        """Open profile ``name`` in a thread; on failure say why and keep the current one.

        The outcome comes back in the GUI thread: ``on_done(ok)`` and the
        :attr:`profileSwitched` signal (ok, and the sentence shown).
        """
        profile = self.profiles.get(name)
        if self._connecting:
            self.say("Still connecting; try again in a moment.")
            if on_done is not None:
                on_done(False)
            self.profileSwitched.emit(False, self.last_message)
            return
        self._connecting = True
        self.statusBar().showMessage(f"Connecting to {profile.name} ({profile.describe()})…")
        self.connection_label.setText(f"connecting to {profile.name}…")
        self.background.call(lambda: open_connection(profile),
                             lambda result, error: self._switched(profile, result, error,
                                                                  on_done))

    def _switched(self, profile: Profile, connection: Connection | None, error: str,
                  on_done: Callable[[bool], None] | None) -> None:
        self._connecting = False
        ok = connection is not None and not self._shut_down
        if connection is not None and self._shut_down:
            connection.close()
        if connection is None:
            self.say(f"Cannot connect to {profile.name}: {error}")
            self._show_connection()
        elif ok:
            self._adopt_connection(profile, connection)
        if on_done is not None:
            on_done(ok)
        self.profileSwitched.emit(ok, self.last_message)

    def _adopt_connection(self, profile: Profile, connection: Connection) -> None:
        old = self.connection
        paused = self.bridge.active_count()  # runs of the old store pause, resumable there
        if self.monitor is not None:
            self.monitor.loader.wait()
            self.monitor.background.wait()
        self.bridge.set_store(connection.store)
        self.connection = connection
        if old is not None:
            old.close()
        resumed = self.bridge.resume_orphans()
        self._engine_state(self.bridge.active_count())  # not the old store's "unreachable"
        self.settings.set_current_profile(profile.name)
        if self.monitor is not None:
            self.monitor.refresh()
        self._show_connection()
        message = f"Connected to {connection.describe()}."
        if paused:
            message += (f" {paused} run(s) of {old.profile.name if old else 'the old store'} "
                        "were paused; they go on when you connect to it again.")
        if resumed:
            message += f" Resumed {len(resumed)} interrupted run(s)."
        self.say(message)

    def reopen_connection(self) -> None:
        """Reopen the store (after a restore): new pool, bridge and monitor follow it."""
        if self.connection is None:
            return
        reopen = getattr(self.connection, "reopen", None)
        if callable(reopen):
            reopen()
        self.bridge.set_store(self.connection.store)
        self.bridge.start()
        self.resumed = self.bridge.resume_orphans()
        if self.monitor is not None:
            self.monitor.refresh()
        self._show_connection()

    def _settle_edit_actions(self) -> None:
        """The shell owns Ctrl+M (Show monitor); the editor's minimap toggle gives it up."""
        actions = self.editor.edit_actions
        minimap = getattr(actions, "show_minimap", None)
        if isinstance(minimap, QAction):
            minimap.setShortcuts([])

    # -- building --------------------------------------------------------------------------
    def _dock(self, title: str, name: str, widget: QWidget,
              area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        bottom = Qt.DockWidgetArea.BottomDockWidgetArea
        self.palette_dock = self._dock("Palette", "paletteDock", self.editor.palette, left)
        self.properties_dock = self._dock("Properties", "propertiesDock",
                                          self.editor.properties, right)
        self.problems_dock = self._dock("Problems", "problemsDock", self.editor.problems, bottom)
        self.run_dock = self._dock("Run", "runDock", self.run_panel, bottom)
        self.tabifyDockWidget(self.problems_dock, self.run_dock)
        self.problems_dock.raise_()

    def _action(self, text: str, slot: Any, shortcut: Any = None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
        action.triggered.connect(lambda _checked=False: slot())
        return action

    def _build_actions(self) -> None:
        self.run_action = self._action("&Run", self.run_flow, Qt.Key.Key_F5,
                                       "Validate the flow, ask its inputs and run it")
        self.run_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.validate_action = self._action("&Validate", self.validate_flow, "Ctrl+Shift+V",
                                            "Check the flow for problems")
        self.monitor_action = self._action("Show &monitor", self.show_monitor, "Ctrl+M",
                                           "Open the run monitor")
        self.cancel_action = self._action("&Cancel run", self.cancel_run, "Shift+F5",
                                          "Cancel the run last started here")
        self.profiles_action = self._action("Connection &profiles…", self.edit_profiles,
                                            tip="Choose where runs are stored")
        self.quit_action = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.about_action = self._action("&About Flowdesk", self.about)
        self.docs_action = self._action("&Documentation", self.open_docs,
                                        QKeySequence.StandardKey.HelpContents)
        self.welcome_action = self._action("&Welcome and examples", self.show_welcome)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        fa = self.editor.file_actions
        file_menu = bar.addMenu("&File")
        file_menu.addAction(fa.new)
        file_menu.addAction(fa.open)
        self.recent_menu = QMenu("Open &Recent", self)
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        file_menu.addMenu(self.recent_menu)
        self._fill_recent()
        file_menu.addSeparator()
        file_menu.addAction(fa.save)
        file_menu.addAction(fa.save_as)
        file_menu.addAction(fa.revert)
        export = getattr(fa, "export", None)
        if isinstance(export, QAction):
            file_menu.addAction(export)
        file_menu.addSeparator()
        file_menu.addAction(self.backup.backup_action)
        file_menu.addAction(self.backup.restore_action)
        file_menu.addSeparator()
        file_menu.addAction(self.profiles_action)
        self.file_menu = file_menu
        self._remote_anchor = file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit_menu = bar.addMenu("&Edit")
        for action in _actions_of(self.editor.edit_actions):
            if not _is_view_action(action):
                edit_menu.addAction(action)
        view_menu = bar.addMenu("&View")
        for dock in (self.palette_dock, self.properties_dock, self.problems_dock,
                     self.run_dock):
            view_menu.addAction(dock.toggleViewAction())
        view_menu.addSeparator()
        zooms = [a for a in _actions_of(self.editor.edit_actions) if _is_view_action(a)]
        for action in zooms:
            view_menu.addAction(action)
        if not zooms:
            view_menu.addAction(self._action("Zoom to &fit", self.editor.view_fit, "Ctrl+0"))
        view_menu.addSeparator()
        theme_menu = view_menu.addMenu("&Theme")
        group = QActionGroup(self)
        current = self.settings.theme()
        for name in ("system", "light", "dark"):
            action = QAction(name.capitalize(), self, checkable=True)
            action.setChecked(name == current)
            action.triggered.connect(lambda _c=False, n=name: self.set_theme(n))
            group.addAction(action)
            theme_menu.addAction(action)
        run_menu = bar.addMenu("&Run")
        for action in (self.run_action, self.validate_action, self.monitor_action,
                       self.cancel_action):
            run_menu.addAction(action)
        tools_menu = bar.addMenu("&Tools")
        tools_menu.addAction(self.backup.schedule_action)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.welcome_action)
        help_menu.addAction(self.docs_action)
        help_menu.addAction(self.about_action)

    def _build_toolbar(self) -> None:
        bar = QToolBar("Main")
        bar.setObjectName("mainToolbar")
        bar.setIconSize(QSize(18, 18))
        fa = self.editor.file_actions
        for action in (fa.new, fa.open, fa.save):
            bar.addAction(action)
        bar.addSeparator()
        for action in (self.run_action, self.validate_action, self.cancel_action,
                       self.monitor_action):
            bar.addAction(action)
        self.addToolBar(bar)

    def _build_status_bar(self) -> None:
        self.connection_label = QLabel()
        self.connection_label.setObjectName("connectionLabel")
        self.engine_label = QLabel("engine: idle")
        self.engine_label.setObjectName("engineLabel")
        self.statusBar().addPermanentWidget(self.connection_label)
        self.statusBar().addPermanentWidget(self.engine_label)
        self._show_connection()

    # -- small views -----------------------------------------------------------------------
    def say(self, text: str) -> None:
        self.last_message = text
        self.statusBar().showMessage(text, 15000)

    def _show_connection(self) -> None:
        self.connection_label.setText(self.connection.describe() if self.connection
                                      else "connecting…")
        if getattr(self, "remote", None) is not None:
            self.remote.connection_changed()

    def _engine_state(self, active: int) -> None:
        self.engine_label.setText("engine: idle" if active == 0 else
                                  f"engine: {active} run{'s' if active > 1 else ''} active")

    def _store_problem(self, problem: str) -> None:
        if problem:
            self.engine_label.setText("store unreachable")
            self.say(f"The store does not answer: {problem}")
        else:
            self._engine_state(self.bridge.active_count())
            self.say("The store answers again.")

    def _retitle(self, *_args: Any) -> None:
        self.setWindowTitle(f"{self.editor.title} — Flowdesk")

    def _path_changed(self, path: str) -> None:
        if path:
            self.settings.add_recent(path)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        files = self.settings.recent_files()
        for path in files:
            action = self.recent_menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.triggered.connect(lambda _c=False, p=path: self.open_file(p))
        if files:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear list", self.settings.clear_recent)
        self.recent_menu.setEnabled(bool(files))

    def set_theme(self, name: str) -> None:
        self.settings.set_theme(name)
        if self.theme is not None:
            self.theme.apply(name)

    # -- commands ----------------------------------------------------------------------------
    def open_file(self, path: str) -> bool:
        if not Path(path).exists():
            self.say(f"{path} no longer exists.")
            return False
        return self.editor.open_flow(path)

    def run_flow(self) -> None:
        if self._require_connection() is None:
            return
        path = self.editor.document.path
        self.runner.run(self.editor.flow, str(path) if path else None)

    def _run_refused(self, errors: list[str]) -> None:
        self.problems_dock.show()
        self.problems_dock.raise_()
        self.say(f"Run refused: {len(errors)} error(s) in the flow; see the Problems panel.")

    def _run_started(self, run_id: str) -> None:
        self.run_panel.start(run_id, [n.id for n in self.editor.flow.nodes])
        self.run_dock.show()
        self.run_dock.raise_()
        self.say(f"Run {run_id[:12]} started.")

    def validate_flow(self) -> None:
        from engine.validate import validate

        problems = validate(self.editor.flow)
        validate_now = getattr(self.editor.problems, "validate_now", None)
        if callable(validate_now):
            validate_now()
        errors = sum(1 for p in problems if p.is_error)
        warnings = len(problems) - errors
        self.problems_dock.show()
        self.problems_dock.raise_()
        self.say("The flow is valid." if not problems else
                 f"{errors} error(s), {warnings} warning(s).")

    def cancel_run(self) -> None:
        self.runner.cancel_current(self.say)

    def show_monitor(self) -> RunMonitor:
        self.connect_store()
        if self.monitor is None:
            from app.monitor import RunMonitor

            self.monitor = RunMonitor(self.bridge, self.settings)
        self.monitor.show()
        self.monitor.raise_()
        self.monitor.activateWindow()
        return self.monitor

    def show_run_in_monitor(self, run_id: str) -> None:
        monitor = self.show_monitor()
        if run_id:
            monitor.select_run(run_id)

    def edit_profiles(self) -> None:
        from app.profiles_dialog import ProfilesDialog

        current = self.connection.profile.name if self.connection else ""
        dialog = ProfilesDialog(self.profiles, current, self)
        dialog.profileChosen.connect(
            lambda name: self.switch_profile(name, lambda ok: ok and dialog.accept()))
        dialog.open()

    def show_welcome(self) -> None:
        from app.welcome import WelcomeDialog

        dialog = WelcomeDialog(self)
        dialog.exampleChosen.connect(self.open_file)
        dialog.finished.connect(lambda _r: self.settings.set_welcome_seen())
        dialog.open()

    def about(self) -> None:
        from engine.backup import flowdesk_version

        QMessageBox.about(self, "About Flowdesk",
                          f"<b>Flowdesk</b> {flowdesk_version()}<br>Design and run workflows."
                          f"<br>Store: {self.connection.describe() if self.connection else ''}")

    def open_docs(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(DOCS)))

    # -- closing --------------------------------------------------------------------------
    def _ask_close_with_runs(self, active: int) -> bool:
        answer = QMessageBox.question(
            self, "Runs are active",
            f"{active} run{'s are' if active > 1 else ' is'} still running here. Quit anyway? "
            "They are paused and go on at the next start of Flowdesk (or with "
            "flowdesk resume).",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Yes

    def closeEvent(self, event: QCloseEvent) -> None:
        active = self.bridge.active_count()
        if active and not self._shut_down and not self.confirm_close_with_runs(active):
            event.ignore()
            return
        if not self.editor.maybe_discard():
            event.ignore()
            return
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Remember the layout, stop every engine thread and close the store (once)."""
        if self._shut_down:
            return
        self._shut_down = True
        self.settings.save_window("main", self.saveGeometry(), self.saveState())
        if self.monitor is not None:
            self.monitor.close()
        self.backup.timer.stop()
        self.runner.background.wait()
        self.background.wait()
        stop_checking = getattr(self.editor.problems, "shutdown", None)
        if callable(stop_checking):
            stop_checking()  # the problems panel's validation thread
        if self.backup.job is not None:
            self.backup.job.thread.join(60)
        self.bridge.stop()
        if self.connection is not None:
            self.connection.close()
