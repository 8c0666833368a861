"""Remote mode: the app signed in to a Flowdesk server, working on its flows and runs.

A ``server`` profile keeps the server address and the user name (as
``https://user@host:port``), never a token: the refresh token lives in the OS
keyring (:class:`app.credentials.TokenVault`) and the access token only in
memory. On start a server profile reconnects with the stored refresh token,
without asking. :class:`RemoteActions` adds File → Connect to server…, Open
deployed flow…, Deploy to server and Log out to the main window, disables what
the user's role does not allow (with a tooltip saying why) and, when the
session ends (expired or revoked), opens the login dialog again while the open
flow stays as it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from app.background import Background
from app.credentials import TokenVault
from app.profiles import Connection, Profile, ProfileError
from engine.client import AuthError, ClientError, ServerClient, normalise_url
from engine.remote_store import DeployRefused, RemoteRunStore

if TYPE_CHECKING:
    from app.login_dialog import LoginDialog
    from app.mainwindow import MainWindow

# Seconds a server may take to answer the start's token refresh before the app says it
# cannot reach it and opens Local instead (the request runs in a thread either way).
CONNECT_TIMEOUT = 15.0

# Fresh sessions from the login dialog, handed to the connection that opens next.
_adopted: dict[str, ServerClient] = {}


def profile_url(server_url: str, username: str) -> str:
    """``https://host:port`` + ``ada`` → ``https://ada@host:port`` (what a profile keeps)."""
    parts = urlsplit(normalise_url(server_url))
    return f"{parts.scheme}://{quote(username, safe='')}@{parts.netloc}{parts.path}"


def split_profile_url(url: str) -> tuple[str, str]:
    """A server profile's URL → (server URL, user name); one sentence when it is not one."""
    parts = urlsplit(url)
    if not parts.username or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProfileError(f"'{url}' is not a server profile address (https://user@host:port).")
    host = parts.netloc.rsplit("@", 1)[1]
    return f"{parts.scheme}://{host}{parts.path}", unquote(parts.username)


def server_profile(server_url: str, username: str) -> Profile:
    host = urlsplit(normalise_url(server_url)).netloc
    return Profile(f"{username}@{host}", "server", profile_url(server_url, username))


def adopt(profile: Profile, client: ServerClient) -> None:
    """Let the next :class:`RemoteConnection` of ``profile`` use this signed-in session."""
    _adopted[profile.url] = client


class _SessionRelay(QObject):
    """Carries "the session is over" from any thread to the GUI thread."""

    lost = Signal(str)
    rolesChanged = Signal(list)


class RemoteConnection(Connection):
    """A server profile: the server stores and executes the runs."""

    def __init__(self, profile: Profile, client: ServerClient | None = None) -> None:
        super().__init__(profile)
        self.server_url, self.username = split_profile_url(profile.url)
        self.vault = TokenVault(self.server_url, self.username)
        self.relay = _SessionRelay()
        app = QCoreApplication.instance()
        if app is not None:  # opened in a thread (app/mainwindow.py): live in the GUI thread
            self.relay.moveToThread(app.thread())
        client = client or _adopted.pop(profile.url, None)
        if client is None:
            client = self._resume()
        self.client = client
        client.on_roles_changed = self.relay.rolesChanged.emit
        self._store = RemoteRunStore(client, on_auth_lost=self._auth_lost)

    def _resume(self) -> ServerClient:
        token = self.vault.load()
        if not token:
            raise ProfileError(f"No stored session for {self.username} on {self.server_url}: "
                               "sign in with File → Connect to server….")
        try:
            client = ServerClient(self.server_url, allow_insecure=True,
                                  timeout=CONNECT_TIMEOUT, on_refresh_token=self.vault.save)
            client.resume(token)
        except AuthError:
            raise ProfileError(f"The session of {self.username} on {self.server_url} has "
                               "expired or was revoked: sign in again with File → Connect "
                               "to server….") from None
        except ClientError as exc:
            raise ProfileError(f"Cannot reach {self.server_url}: {exc}") from None
        return client

    def _auth_lost(self, exc: AuthError) -> None:
        self.relay.lost.emit(str(exc))

    @property
    def store(self) -> RemoteRunStore:  # type: ignore[override]
        return self._store

    @property
    def runs_locally(self) -> bool:
        return False

    @property
    def roles(self) -> list[str]:
        return list(self.client.roles)

    def refusal(self, action: str) -> str | None:
        return self._store.refusal(action)

    @property
    def can_deploy(self) -> bool:
        return self.refusal("deploy") is None

    @property
    def can_run(self) -> bool:
        return self.refusal("run") is None

    @property
    def can_operate(self) -> bool:
        return self.refusal("operate") is None

    def replace_client(self, client: ServerClient) -> None:
        """Carry on with a new session after signing in again."""
        self.client = client
        client.on_roles_changed = self.relay.rolesChanged.emit
        self._store.replace_client(client)

    def describe(self) -> str:
        roles = ", ".join(self.client.roles) or "no role"
        return f"{self.profile.name} — {self.server_url} ({roles})"

    def log_out(self) -> bool:
        """Revoke the session on the server and delete the keyring entry.

        Returns whether the server confirmed; the entry is deleted either way.
        """
        self._store.close()
        revoked = self.client.logout()
        self.vault.delete()
        return revoked

    def close(self) -> None:
        """Stop following events; the stored session stays for the next start."""
        self._store.close()
        self.client.close()


# -- role limits on actions ------------------------------------------------------------
def restrict(actions: dict[str, list[QAction]], refusal: Any) -> None:
    """Disable each action whose kind (deploy/run/operate) the role refuses, saying why."""
    for kind, group in actions.items():
        why = refusal(kind)
        for action in group:
            if why:
                action.setEnabled(False)
                action.setToolTip(why)
            elif action.toolTip() and "may not" in action.toolTip():
                action.setToolTip(action.text().replace("&", ""))


def restrict_monitor(monitor: Any, refusal: Any, approval_refusal: Any = None) -> None:
    """The run monitor's cancel, retry, approve and run-again actions under the role's limits.

    Approve and reject follow ``approval_refusal`` when given (the approval's own role,
    as the server decides), else the operate rule.
    """
    deciders = [monitor.approve_action, monitor.reject_action]
    restrict({"operate": [monitor.cancel_action, monitor.cancel_node_action,
                          monitor.retry_action] + ([] if approval_refusal else deciders),
              "run": [monitor.again_action]}, refusal)
    if approval_refusal is not None:
        restrict({"decide": deciders}, lambda _kind: approval_refusal())


# -- the deployed-flows dialog -----------------------------------------------------------
class DeployedFlowsDialog(QDialog):
    """File → Open deployed flow…: every deployed flow and its versions."""

    def __init__(self, store: RemoteRunStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Open deployed flow")
        self.store = store
        self.flows = QListWidget()
        self.flows.setObjectName("deployedFlows")
        self.versions = QListWidget()
        self.versions.setObjectName("deployedVersions")
        self.status = QLabel()
        self.status.setWordWrap(True)
        lists = QHBoxLayout()
        lists.addWidget(self.flows)
        lists.addWidget(self.versions)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(lists)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.flows.currentTextChanged.connect(self._show_versions)
        self.versions.itemDoubleClicked.connect(lambda _i: self._accept())
        self.chosen: dict[str, Any] | None = None
        # every read is a request to the server: done off the GUI thread
        self.background = Background(self)
        self.status.setText("Reading the deployed flows…")
        self.background.call(store.list_flows, self._flows_read)

    def _flows_read(self, flows: Any, error: str) -> None:
        if error:
            self.status.setText(f"Cannot list the deployed flows: {error}")
            return
        self.status.setText("")
        for flow in flows:
            self.flows.addItem(flow["name"])
        if self.flows.count():
            self.flows.setCurrentRow(0)
        else:
            self.status.setText("Nothing is deployed on this server yet.")

    def _show_versions(self, name: str) -> None:
        self.versions.clear()
        if not name:
            return
        self.background.call(lambda: self.store.flow_versions(name),
                             lambda versions, error: self._versions_read(name, versions, error))

    def _versions_read(self, name: str, versions: Any, error: str) -> None:
        current = self.flows.currentItem()
        if current is None or current.text() != name:
            return  # another flow was chosen meanwhile
        if error:
            self.status.setText(f"Cannot list the versions of {name}: {error}")
            return
        self.versions.clear()
        for v in reversed(versions):
            who = f" by {v['created_by']}" if v.get("created_by") else ""
            item = QListWidgetItem(f"version {v['version']}{who}")
            item.setData(Qt.ItemDataRole.UserRole, int(v["version"]))
            self.versions.addItem(item)
        self.versions.setCurrentRow(0)

    def _accept(self) -> None:
        name = self.flows.currentItem().text() if self.flows.currentItem() else ""
        item = self.versions.currentItem()
        if not name or item is None:
            self.status.setText("Choose a flow and a version.")
            return
        version = int(item.data(Qt.ItemDataRole.UserRole))
        self.buttons.setEnabled(False)
        self.background.call(lambda: self.store.get_flow(name, version),
                             lambda flow, error: self._flow_read(name, flow, error))

    def _flow_read(self, name: str, flow: Any, error: str) -> None:
        self.buttons.setEnabled(True)
        if error:
            self.status.setText(f"Cannot read {name}: {error}")
            return
        self.chosen = flow
        self.accept()


# -- the main window's remote actions ------------------------------------------------------
class RemoteActions(QObject):
    """Connect, log out, open deployed flows, deploy; role limits; signing in again."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.login_dialog: LoginDialog | None = None
        self.flows_dialog: DeployedFlowsDialog | None = None
        self.message_box: QMessageBox | None = None
        self.opened_version: tuple[str, int] | None = None
        self._watched: RemoteConnection | None = None
        self._declined: RemoteConnection | None = None  # said no to signing in again
        self.connect_action = self._action("Connect to &server…", self.connect_to_server,
                                           "Sign in to a Flowdesk server")
        self.open_deployed_action = self._action("Open &deployed flow…", self.open_deployed,
                                                 "Open a version of a flow deployed on the "
                                                 "server")
        self.deploy_action = self._action("De&ploy to server", self.deploy,
                                          "Deploy the open flow as a new version")
        self.logout_action = self._action("&Log out", self.log_out,
                                          "Sign out and forget the stored session")

    def _action(self, text: str, slot: Any, tip: str) -> QAction:
        action = QAction(text, self.window)
        action.setStatusTip(tip)
        action.triggered.connect(lambda _c=False: slot())
        return action

    def all(self) -> list[QAction]:
        return [self.connect_action, self.open_deployed_action, self.deploy_action,
                self.logout_action]

    @property
    def connection(self) -> RemoteConnection | None:
        conn = self.window.connection
        return conn if isinstance(conn, RemoteConnection) else None

    # -- following the connection ----------------------------------------------------------
    def connection_changed(self) -> None:
        """Enable the server actions for a server profile, and apply the user's role."""
        conn = self.connection
        remote = conn is not None
        for action in (self.open_deployed_action, self.deploy_action, self.logout_action):
            action.setEnabled(remote)
            action.setToolTip(action.text().replace("&", "") if remote else
                              "Connect to a server first (File → Connect to server…).")
        if conn is not self._watched:
            if self._watched is not None:
                try:
                    self._watched.relay.lost.disconnect(self._session_lost)
                    self._watched.relay.rolesChanged.disconnect(self._roles_changed)
                except (RuntimeError, TypeError):
                    pass
            if conn is not None:
                conn.relay.lost.connect(self._session_lost, Qt.ConnectionType.QueuedConnection)
                conn.relay.rolesChanged.connect(self._roles_changed,
                                                Qt.ConnectionType.QueuedConnection)
            self._watched = conn
        self.apply_roles()

    def _roles_changed(self, roles: list[str]) -> None:
        """The server changed this user's roles (seen at a token refresh): apply them now."""
        if self.connection is None:
            return
        self.window._show_connection()  # the label shows the roles; apply_roles follows
        self.window.say(f"Your roles on {self.connection.server_url} are now "
                        f"{', '.join(roles) or 'none'}.")

    def apply_roles(self) -> None:
        w = self.window
        conn = self.connection
        if conn is None:  # a local store: no role limits
            for action in (w.run_action, w.cancel_action):
                if not action.isEnabled() and "may not" in action.toolTip():
                    action.setEnabled(True)
            if w.monitor is not None:
                restrict_monitor(w.monitor, lambda _kind: None)
            restrict({"run": [w.run_action], "operate": [w.cancel_action]}, lambda _kind: None)
            return
        for action in (w.run_action, w.cancel_action, self.deploy_action):
            action.setEnabled(True)
        restrict({"run": [w.run_action], "operate": [w.cancel_action],
                  "deploy": [self.deploy_action]}, conn.refusal)
        if w.monitor is not None:
            w.monitor._update_actions()

    # -- signing in and out -------------------------------------------------------------------
    def _open_login(self, url: str = "", username: str = "", *, again: bool = False) -> None:
        from app.login_dialog import LoginDialog

        if self.login_dialog is not None:
            self.login_dialog.raise_()
            return
        dialog = LoginDialog(self.window, url=url, username=username)
        dialog.setObjectName("loginDialog")
        if again:
            dialog.status.setText("Your session has ended (expired or revoked). Sign in again; "
                                  "the open flow is kept.")
        dialog.accepted.connect(lambda: self._signed_in(dialog, again))
        if again:
            dialog.rejected.connect(self._declined_again)
        dialog.finished.connect(lambda _r: self._forget_login(dialog))
        self.login_dialog = dialog
        dialog.open()

    def _forget_login(self, dialog: LoginDialog) -> None:
        if self.login_dialog is dialog:
            self.login_dialog = None
        dialog.deleteLater()

    def connect_to_server(self) -> None:
        """File → Connect to server…: the login dialog, then a server profile."""
        conn = self.connection
        again = conn is not None and conn is self._declined
        self._declined = None
        self._open_login(conn.server_url if conn else "", conn.username if conn else "",
                         again=again)

    def _signed_in(self, dialog: LoginDialog, again: bool) -> None:
        client = dialog.client
        if client is None or client.username is None:
            return
        conn = self.connection
        if conn is not None and conn.username == client.username \
                and normalise_url(conn.server_url) == client.url:
            if again:  # the old session is over already
                self._carry_on(conn, client, "")
                return
            # the same user signing in again: the new session replaces the old one, which
            # is revoked on the server (off the GUI thread), not left alive
            old = conn.client
            old.on_refresh_token = None  # its logout must not delete the new stored token
            self.window.background.call(
                old.logout, lambda revoked, _e: self._carry_on(conn, client, " The previous "
                                                               "session is revoked." if revoked
                                                               else " The previous session "
                                                               "could not be revoked."))
            return
        profile = server_profile(client.url, client.username)
        try:
            self.window.profiles.save(profile, replacing=profile.name)
        except ProfileError as exc:
            client.close()
            self.window.say(str(exc))
            return
        adopt(profile, client)

        def switched(ok: bool) -> None:
            if not ok and _adopted.get(profile.url) is client:
                _adopted.pop(profile.url, None)
                client.close()

        self.window.switch_profile(profile.name, switched)

    def _carry_on(self, conn: RemoteConnection, client: ServerClient, note: str) -> None:
        if self.window.connection is not conn:  # switched away meanwhile
            client.close()
            return
        conn.replace_client(client)
        self.window.say(f"Signed in again to {client.url}.{note}")
        self.window._show_connection()

    def _declined_again(self) -> None:
        """No nagging: ask again only when the user picks Connect to server… themselves."""
        self._declined = self.connection
        self.window.say("Not signed in: the server's flows and runs are unavailable until you "
                        "sign in again (File → Connect to server…).")

    def _session_lost(self, message: str) -> None:
        conn = self.connection
        if conn is None or conn is self._declined or self.login_dialog is not None:
            return
        self.window.say(f"Signed out by the server: {message}")
        self._open_login(conn.server_url, conn.username, again=True)

    def log_out(self) -> None:
        """Revoke the session on the server, delete the keyring entry, go back to Local.

        The revocation is a request to the server: it runs off the GUI thread.
        """
        conn = self.connection
        if conn is None:
            return
        self.logout_action.setEnabled(False)
        self.window.say(f"Logging out of {conn.server_url}…")

        def revoked_then_switch(revoked: Any, _error: str) -> None:
            def switched(_ok: bool) -> None:
                if revoked:
                    self.window.say(f"Logged out of {conn.server_url}.")
                else:
                    self.window.say(f"Logged out here, but {conn.server_url} could not confirm "
                                    "it revoked the session; the stored token is deleted all "
                                    "the same.")

            self.window.switch_profile(Profile("Local").name, switched)

        self.window.background.call(conn.log_out, revoked_then_switch)

    # -- flows ----------------------------------------------------------------------------------
    def open_deployed(self) -> None:
        conn = self.connection
        if conn is None:
            return
        dialog = DeployedFlowsDialog(conn.store, self.window)
        dialog.setObjectName("deployedFlowsDialog")
        dialog.accepted.connect(lambda: self._open_chosen(dialog))
        dialog.finished.connect(dialog.deleteLater)
        self.flows_dialog = dialog
        dialog.open()

    def _open_chosen(self, dialog: DeployedFlowsDialog) -> None:
        from engine.flowfile import FlowFileError, flow_from_dict

        self.flows_dialog = None
        chosen = dialog.chosen
        if chosen is None:
            return
        try:
            flow = flow_from_dict(chosen["definition"])
        except FlowFileError as exc:
            self.window.say(f"Cannot open {chosen['name']}: {exc}")
            return
        editor = self.window.editor
        if not editor.maybe_discard():
            return
        editor.document.new(flow.name)
        editor.document.flow.replace_with(flow)
        editor.problems.validate_now()
        editor.view_fit()
        editor.titleChanged.emit(editor.title)
        self.opened_version = (chosen["name"], int(chosen["version"]))
        self.window.say(f"Opened {chosen['name']} version {chosen['version']} from the server.")

    def deploy(self) -> None:
        """Deploy the open flow (a copy of it as it is now), off the GUI thread."""
        conn = self.connection
        if conn is None:
            return
        flow = self.window.editor.flow.copy()
        self.deploy_action.setEnabled(False)
        self.window.say(f"Deploying {flow.name}…")

        def work() -> tuple[str, int] | DeployRefused:
            try:
                return conn.store.deploy(flow)
            except DeployRefused as exc:
                return exc

        self.window.background.call(work, self._deployed)

    def _deployed(self, result: Any, error: str) -> None:
        self.deploy_action.setEnabled(True)
        self.apply_roles()
        if isinstance(result, DeployRefused):
            lines = [p.get("message", str(p)) if isinstance(p, dict) else str(p)
                     for p in result.problems] or [str(result)]
            self._box("The server refused the flow",
                      f"{result}\n\n" + "\n".join(lines[:10]))
            self.window.say(f"Not deployed: {result}")
            return
        if result is None:  # one sentence, the flow stays open
            self.window.say(f"Cannot deploy: {error}")
            return
        name, version = result
        self.opened_version = (name, version)
        self.window.say(f"Deployed {name} as version {version}.")

    def _box(self, title: str, text: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok,
                          self.window)
        box.setObjectName("deployRefusedBox")
        box.finished.connect(box.deleteLater)
        self.message_box = box
        box.open()
