"""The app in remote mode against a real server over a socket (SQLite store), with pytest-qt."""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import keyring
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QMessageBox
from remote_kit import HELLO, PASSWORD, LiveServer

from app.credentials import TokenVault, service_for
from app.login_dialog import LoginDialog
from app.remote import RemoteConnection
from tests.app.helpers import listed, switch

OK = QDialogButtonBox.StandardButton.Ok


@pytest.fixture
def live(sqlite_url: str) -> Iterator[LiveServer]:
    server = LiveServer(sqlite_url).start()
    server.add_user("ada", "designer", "operator")
    server.add_user("val", "viewer")
    yield server
    server.stop()


def _fill_and_sign_in(qtbot, dialog: LoginDialog, url: str, user: str,  # noqa: ANN001
                      password: str = PASSWORD) -> None:
    qtbot.waitUntil(dialog.isVisible)
    dialog.url_edit.clear()
    qtbot.keyClicks(dialog.url_edit, url)
    dialog.user_edit.clear()
    qtbot.keyClicks(dialog.user_edit, user)
    dialog.password_edit.clear()
    qtbot.keyClicks(dialog.password_edit, password)
    qtbot.mouseClick(dialog.buttons.button(OK), Qt.MouseButton.LeftButton)


def _sign_in(window, qtbot, live: LiveServer, user: str = "ada") -> RemoteConnection:  # noqa: ANN001
    window.remote.connect_action.trigger()
    dialog = window.remote.login_dialog
    assert dialog is not None
    _fill_and_sign_in(qtbot, dialog, live.url, user)
    qtbot.waitUntil(lambda: isinstance(window.connection, RemoteConnection), timeout=20000)
    return window.connection


def _refresh_refused(live: LiveServer, token: str) -> bool:
    r = httpx.post(f"{live.api}/auth/refresh", json={"refresh_token": token}, timeout=10)
    return r.status_code == 401


def _new_window(qtbot, settings):  # noqa: ANN001, ANN202
    from app.mainwindow import MainWindow

    win = MainWindow(settings, show_welcome=False)
    qtbot.addWidget(win)
    win.editor.ask_save_changes = lambda *_a: QMessageBox.StandardButton.Discard
    win.show()
    qtbot.waitUntil(lambda: win.connection is not None, timeout=20000)  # opened in a thread
    return win


def test_login_dialog_signs_in_and_keeps_the_token_in_the_keyring(
        qtbot, live: LiveServer, memory_keyring) -> None:  # noqa: ANN001
    dialog = LoginDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    _fill_and_sign_in(qtbot, dialog, live.url, "ada", "not the password")
    qtbot.waitUntil(lambda: "wrong username or password" in dialog.status.text(),
                    timeout=20000)
    assert dialog.result() == 0 and dialog.client is None
    assert memory_keyring.items == {}
    with qtbot.waitSignal(dialog.accepted, timeout=20000):
        _fill_and_sign_in(qtbot, dialog, live.url, "ada")
    client = dialog.client
    assert client is not None and dialog.remembered
    assert client.username == "ada" and set(client.roles) == {"designer", "operator"}
    stored = memory_keyring.items[(service_for(live.url), "ada")]
    assert stored == client.refresh_token
    assert dialog.password_edit.text() == ""
    client._expires_at = 0  # the access token is about to expire: a silent refresh
    assert client.me()["username"] == "ada"
    assert client.refresh_token != stored  # rotated, and the keyring follows
    assert memory_keyring.items[(service_for(live.url), "ada")] == client.refresh_token
    used, stored = stored, client.refresh_token
    client.logout()
    assert memory_keyring.items == {}
    assert _refresh_refused(live, stored)  # revoked by the logout
    assert _refresh_refused(live, used)  # a used refresh token never works twice
    client.close()


def test_plaintext_keyring_is_refused_and_session_only_offered(
        qtbot, live: LiveServer, tmp_path) -> None:  # noqa: ANN001
    from keyrings.alt.file import PlaintextKeyring

    previous = keyring.get_keyring()
    plain = PlaintextKeyring()
    plain.file_path = str(tmp_path / "plain.cfg")  # type: ignore[misc]
    keyring.set_keyring(plain)
    try:
        dialog = LoginDialog()
        qtbot.addWidget(dialog)
        dialog.show()
        assert "plain file" in dialog.status.text()
        assert dialog.session_only.isChecked() and not dialog.session_only.isEnabled()
        with qtbot.waitSignal(dialog.accepted, timeout=20000):
            _fill_and_sign_in(qtbot, dialog, live.url, "ada")
        assert dialog.client is not None and not dialog.remembered
        token = dialog.client.refresh_token
        assert token
        assert not (tmp_path / "plain.cfg").exists() or \
            token not in (tmp_path / "plain.cfg").read_text()
        dialog.client.logout()
        dialog.client.close()
    finally:
        keyring.set_keyring(previous)


@pytest.mark.skipif(os.environ.get("FLOWDESK_REAL_KEYRING") != "1",
                    reason="needs a real Secret Service (tests/run.sh sets FLOWDESK_REAL_KEYRING=1)")
def test_tokens_round_trip_through_the_real_secret_service(qtbot, live: LiveServer) -> None:  # noqa: ANN001
    from app.credentials import keyring_problem

    assert keyring_problem() is None, keyring_problem()
    dialog = LoginDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    with qtbot.waitSignal(dialog.accepted, timeout=20000):
        _fill_and_sign_in(qtbot, dialog, live.url, "ada")
    client = dialog.client
    assert client is not None and dialog.remembered
    vault = TokenVault(live.url, "ada")
    assert vault.load() == client.refresh_token
    client.me()
    client._expires_at = 0  # force a silent refresh: the rotated token is stored
    client.me()
    assert vault.load() == client.refresh_token
    old = client.refresh_token
    client.logout()
    assert vault.load() is None
    assert _refresh_refused(live, old)
    client.close()


def test_sign_in_reconnect_on_restart_and_log_out(
        qtbot, window, settings, live: LiveServer, memory_keyring) -> None:  # noqa: ANN001
    conn = _sign_in(window, qtbot, live)
    assert conn.username == "ada" and not conn.runs_locally
    assert live.url in window.connection_label.text()
    assert settings.current_profile() == conn.profile.name
    assert memory_keyring.items[(service_for(live.url), "ada")] == conn.client.refresh_token
    window.shutdown()
    # a new main window resumes the session from the keyring, without a dialog
    again = _new_window(qtbot, settings)
    try:
        assert isinstance(again.connection, RemoteConnection)
        assert again.remote.login_dialog is None
        assert again.connection.client.username == "ada"
        token = memory_keyring.items[(service_for(live.url), "ada")]
        assert token == again.connection.client.refresh_token
        again.remote.logout_action.trigger()
        qtbot.waitUntil(lambda: "Logged out of" in again.last_message, timeout=20000)
        assert memory_keyring.items == {}
        assert not isinstance(again.connection, RemoteConnection)
        assert _refresh_refused(live, token)
        assert not again.remote.deploy_action.isEnabled()
    finally:
        again.shutdown()
    # the profile stays; starting on it without a stored session opens Local and says why
    settings.set_current_profile(conn.profile.name)
    third = _new_window(qtbot, settings)
    try:
        assert not isinstance(third.connection, RemoteConnection)
        assert "No stored session for ada" in third.last_message
        assert third.remote.login_dialog is None
    finally:
        third.shutdown()


def test_deploy_run_and_monitor_a_remote_run(qtbot, window, live: LiveServer) -> None:  # noqa: ANN001
    from tests.app.test_run_from_editor import _accept_inputs

    conn = _sign_in(window, qtbot, live)
    assert window.open_file(str(HELLO))
    # an undeployed flow is refused with one sentence
    window.run_action.trigger()
    _accept_inputs(window, qtbot)
    qtbot.waitUntil(lambda: "not deployed on the server" in window.last_message)
    assert conn.store.count_runs() == 0
    window.remote.deploy_action.trigger()
    qtbot.waitUntil(lambda: window.last_message == "Deployed hello as version 1.",
                    timeout=20000)
    window.run_action.trigger()
    dialog = window.runner.inputs_dialog
    qtbot.waitUntil(lambda: dialog is not None and dialog.isVisible())
    dialog.widgets["who"].setText("Ada")
    _accept_inputs(window, qtbot)
    qtbot.waitUntil(lambda: window.runner.current_run is not None)
    run_id = window.runner.current_run
    # the run panel and the canvas follow the server's event stream
    qtbot.waitUntil(lambda: window.run_panel.run_status == "succeeded", timeout=20000)
    assert window.bridge.active_count() == 0  # the server ran it, not this app
    follower = conn.store.follower
    assert follower is not None and follower.connections >= 1
    assert run_id in {e["run_id"] for e in follower.received()}  # via the event stream
    qtbot.waitUntil(lambda: window.runner.node_states() == {
        "start": "succeeded", "greet": "succeeded", "end": "succeeded"})
    run = conn.store.get_run(run_id)
    assert run["outputs"] == {"greeting": "Hello, Ada!"} and run["created_by"] == "ada"
    monitor = listed(qtbot, window.show_monitor())
    qtbot.waitUntil(lambda: run_id in monitor.model.row_of, timeout=10000)
    monitor.select_run(run_id)
    qtbot.waitUntil(lambda: monitor.run is not None and monitor.run["run_id"] == run_id
                    and monitor.graph is not None, timeout=10000)
    for node_id in ("start", "greet", "end"):
        item = monitor.graph.scene.node_item(node_id)
        qtbot.waitUntil(lambda i=item: bool(i.run_state) and i.run_state[0] == "succeeded")
    assert monitor.again_action.isEnabled()
    # Run again from the monitor: the server runs the run's own version again
    monitor.again_action.trigger()
    qtbot.waitUntil(lambda: monitor.run_id not in (None, run_id), timeout=10000)
    again = monitor.run_id
    qtbot.waitUntil(lambda: conn.store.get_run(again)["status"] == "succeeded", timeout=20000)
    assert conn.store.get_run(again)["flow_version"] == 1
    assert conn.store.get_run(again)["inputs"] == {"who": "Ada"}
    # File → Open deployed flow… lists it and opens the version in the designer
    window.editor.new_flow()
    window.remote.open_deployed_action.trigger()
    flows = window.remote.flows_dialog
    assert flows is not None
    qtbot.waitUntil(flows.isVisible)
    qtbot.waitUntil(lambda: flows.versions.count() == 1, timeout=20000)  # read in a thread
    assert [flows.flows.item(i).text() for i in range(flows.flows.count())] == ["hello"]
    assert flows.versions.item(0).text() == "version 1 by ada"
    flows.buttons.button(QDialogButtonBox.StandardButton.Open).click()
    qtbot.waitUntil(lambda: window.editor.flow.name == "hello")
    assert [n.id for n in window.editor.flow.nodes] == ["start", "greet", "end"]
    assert not window.editor.modified


def test_a_viewer_sees_run_actions_disabled_with_the_reason(
        qtbot, window, live: LiveServer) -> None:  # noqa: ANN001
    from engine.client import ServerClient
    from engine.flowfile import load_flow
    from engine.remote_store import RemoteRunStore

    ada = ServerClient(live.url)
    ada.login("ada", PASSWORD)
    store = RemoteRunStore(ada)
    store.deploy(load_flow(HELLO))
    run_id = store.create_run(load_flow(HELLO), {})
    ada.close()
    _sign_in(window, qtbot, live, "val")
    assert not window.run_action.isEnabled()
    assert "viewer" in window.run_action.toolTip()
    assert "may not start runs" in window.run_action.toolTip()
    assert not window.cancel_action.isEnabled()
    assert not window.remote.deploy_action.isEnabled()
    assert "may not deploy flows" in window.remote.deploy_action.toolTip()
    monitor = listed(qtbot, window.show_monitor())
    qtbot.waitUntil(lambda: run_id in monitor.model.row_of, timeout=10000)
    monitor.select_run(run_id)
    qtbot.waitUntil(lambda: monitor.run is not None and monitor.run["run_id"] == run_id,
                    timeout=10000)
    assert not monitor.again_action.isEnabled()
    assert "may not start runs" in monitor.again_action.toolTip()
    assert not monitor.retry_action.isEnabled()
    assert "may not cancel, retry or approve" in monitor.cancel_action.toolTip()
    # back on the local store, nothing is limited and no tooltip says otherwise
    assert switch(window, qtbot, "Local")
    assert window.run_action.isEnabled() and "may not" not in window.run_action.toolTip()
    assert "may not" not in monitor.again_action.toolTip()
    assert "may not" not in monitor.cancel_action.toolTip()


def test_a_revoked_session_opens_the_login_dialog_and_keeps_the_open_flow(
        qtbot, window, live: LiveServer, memory_keyring) -> None:  # noqa: ANN001
    conn = _sign_in(window, qtbot, live)
    assert window.open_file(str(HELLO))
    window.editor.flow.description = "edited, not saved"
    before = window.editor.flow.to_dict()
    # revoke the session on the server (as an admin or another logout would) and let
    # the access token run out
    with live.client(conn.client._access) as c:
        r = c.post("/auth/logout", json={"refresh_token": conn.client.refresh_token})
    assert r.status_code == 204
    conn.client._expires_at = 0
    window.remote.deploy_action.trigger()
    qtbot.waitUntil(lambda: window.remote.login_dialog is not None, timeout=10000)
    dialog = window.remote.login_dialog
    qtbot.waitUntil(dialog.isVisible)
    assert "session has ended" in dialog.status.text()
    assert dialog.url_edit.text() == live.url and dialog.user_edit.text() == "ada"
    assert window.editor.flow.to_dict() == before
    assert memory_keyring.items == {}  # the dead token is gone from the keyring
    # Cancel: the app stops asking (the bridge keeps failing quietly) until the user asks
    dialog.reject()
    qtbot.waitUntil(lambda: window.remote.login_dialog is None)
    assert "Not signed in" in window.last_message
    qtbot.wait(600)  # several bridge polls meet the dead session meanwhile
    assert window.remote.login_dialog is None
    assert window.editor.flow.to_dict() == before
    window.remote.connect_action.trigger()
    dialog = window.remote.login_dialog
    assert dialog is not None and "session has ended" in dialog.status.text()
    _fill_and_sign_in(qtbot, dialog, live.url, "ada")
    qtbot.waitUntil(lambda: window.remote.login_dialog is None, timeout=20000)
    assert window.connection is conn  # the same connection carries on
    assert window.editor.flow.to_dict() == before
    window.remote.deploy_action.trigger()
    qtbot.waitUntil(lambda: window.last_message == "Deployed hello as version 1.",
                    timeout=20000)
    assert memory_keyring.items[(service_for(live.url), "ada")] == conn.client.refresh_token


def test_plain_http_to_another_machine_needs_consent(qtbot, memory_keyring) -> None:  # noqa: ANN001
    asked: list[str] = []

    def decline(_parent, url: str) -> bool:  # noqa: ANN001
        asked.append(url)
        return False

    dialog = LoginDialog(confirm_insecure=decline)
    qtbot.addWidget(dialog)
    dialog.show()
    _fill_and_sign_in(qtbot, dialog, "http://flowdesk.example.com:8470", "ada")
    assert asked == ["http://flowdesk.example.com:8470"]
    assert "plain http to another machine was declined" in dialog.status.text()
    assert dialog.client is None and dialog.isVisible()
    assert memory_keyring.items == {}
    dialog.url_edit.setText("ftp://flowdesk.example.com")
    qtbot.mouseClick(dialog.buttons.button(OK), Qt.MouseButton.LeftButton)
    assert "is not a server address" in dialog.status.text()
    assert len(asked) == 1


def test_log_out_while_the_server_is_down_still_forgets_the_token(
        qtbot, window, live: LiveServer, memory_keyring) -> None:  # noqa: ANN001
    _sign_in(window, qtbot, live)
    assert memory_keyring.items
    live.stop()
    window.remote.logout_action.trigger()
    qtbot.waitUntil(lambda: "could not confirm it revoked" in window.last_message, timeout=20000)
    assert memory_keyring.items == {}
    assert not isinstance(window.connection, RemoteConnection)


def test_profiles_dialog_shows_and_checks_a_server_profile(
        qtbot, window, live: LiveServer) -> None:  # noqa: ANN001
    from app.profiles_dialog import ProfilesDialog

    conn = _sign_in(window, qtbot, live)
    dialog = ProfilesDialog(window.profiles, conn.profile.name, window)
    qtbot.addWidget(dialog)
    dialog.reload(select=conn.profile.name)
    dialog._load(dialog.list.currentItem())
    assert dialog.type.currentData() == "server"
    assert dialog.location.text() == conn.profile.url == f"http://ada@127.0.0.1:{live.port}"
    dialog.location.setText("https://flowdesk.example.com")
    assert dialog.save_profile() is None
    assert "is not a server profile address" in dialog.error.text()
    assert window.profiles.get(conn.profile.name).url == conn.profile.url  # nothing lost


def test_the_app_says_when_the_server_stops_answering_and_when_it_is_back(
        qtbot, window, live: LiveServer) -> None:  # noqa: ANN001
    from remote_kit import CutProxy

    proxy = CutProxy(live.port)
    try:
        window.remote.connect_action.trigger()
        _fill_and_sign_in(qtbot, window.remote.login_dialog, proxy.url, "ada")
        qtbot.waitUntil(lambda: isinstance(window.connection, RemoteConnection), timeout=20000)
        conn = window.connection
        qtbot.waitUntil(lambda: conn.store.follower is not None
                        and conn.store.follower.connections >= 1, timeout=10000)
        proxy.target_port = 9  # nothing listens there: every new connection is refused
        proxy.cut()
        qtbot.waitUntil(lambda: window.engine_label.text() == "store unreachable",
                        timeout=10000)
        assert "does not answer" in window.last_message
        proxy.target_port = live.port
        qtbot.waitUntil(lambda: window.engine_label.text() == "engine: idle", timeout=10000)
        assert window.last_message == "The store answers again."
    finally:
        window.shutdown()
        proxy.close()


def test_approve_and_cancel_from_the_monitor_go_through_the_server(
        qtbot, window, live: LiveServer) -> None:  # noqa: ANN001
    from engine.flowfile import load_flow

    conn = _sign_in(window, qtbot, live)
    approval = load_flow(HELLO.parent / "approval.flow.json")
    conn.store.deploy(approval)
    run_id = conn.store.create_run(approval, {"release": "v2"})
    qtbot.waitUntil(lambda: [a["run_id"] for a in conn.store.pending_approvals()] == [run_id],
                    timeout=20000)
    monitor = listed(qtbot, window.show_monitor())
    qtbot.waitUntil(lambda: run_id in monitor.model.row_of, timeout=10000)
    monitor.select_run(run_id)
    qtbot.waitUntil(lambda: monitor.run is not None and monitor.run["run_id"] == run_id,
                    timeout=10000)
    monitor.select_node("sign_off")
    qtbot.waitUntil(monitor.approve_action.isEnabled, timeout=10000)
    monitor.comment.setText("looks good")
    monitor.approve_action.trigger()
    qtbot.waitUntil(lambda: conn.store.get_run(run_id)["status"] == "succeeded", timeout=20000)
    assert conn.store.get_run(run_id)["outputs"] == {"published": True}
    events = conn.store.events_after(0, run_id=run_id)
    decision = [e["data"] for e in events if e["type"] == "approval"]
    assert decision == [{"approved": True, "by": "ada", "comment": "looks good"}]
    # a second run is cancelled from the monitor while it waits
    second = conn.store.create_run(approval, {})
    qtbot.waitUntil(lambda: second in monitor.model.row_of, timeout=10000)
    monitor.select_run(second)
    qtbot.waitUntil(lambda: (monitor.run or {}).get("status") == "waiting", timeout=20000)
    qtbot.waitUntil(monitor.cancel_action.isEnabled)
    monitor.cancel_action.trigger()
    qtbot.waitUntil(lambda: conn.store.get_run(second)["status"] == "cancelled", timeout=20000)


@pytest.mark.parametrize(("server", "user"), [
    ("https://flowdesk.example.com", "ann"),
    ("https://flowdesk.example.com:8443/base", "ann@example.com"),
    ("http://[::1]:8470", "o.neil-b_c"),
])
def test_server_profile_address_round_trip(server: str, user: str) -> None:
    from app.profiles import ProfileError, make_profile
    from app.remote import server_profile, split_profile_url

    profile = server_profile(server, user)
    assert split_profile_url(profile.url) == (server, user)
    again, password = make_profile(profile.name, "server", profile.url)
    assert again == profile and password is None
    with pytest.raises(ProfileError, match="is not a server profile address"):
        make_profile("x", "server", server)


def test_a_refused_deploy_lists_the_problems_and_deploys_nothing(
        qtbot, window, live: LiveServer, tmp_path) -> None:  # noqa: ANN001
    import json

    conn = _sign_in(window, qtbot, live)
    bad = tmp_path / "bad.flow.json"
    bad.write_text(json.dumps({"format": "flowdesk/1", "name": "bad", "nodes": [
        {"id": "start", "kind": "start"}, {"id": "lost", "kind": "set",
                                           "config": {"vars": {}}}], "edges": []}))
    assert window.open_file(str(bad))
    before = window.editor.flow.to_dict()
    window.remote.deploy_action.trigger()
    qtbot.waitUntil(lambda: window.remote.message_box is not None, timeout=20000)
    box = window.remote.message_box
    assert box is not None and box.isVisible()
    assert "no end node" in box.text()
    assert "not reachable from the start node" in box.text()
    assert window.last_message.startswith("Not deployed:")
    assert conn.store.list_flows() == []
    assert window.editor.flow.to_dict() == before


def test_a_designer_named_by_an_approval_decides_it_but_not_an_operators_one(
        qtbot, window, live: LiveServer) -> None:  # noqa: ANN001
    """The server's rule in the monitor: the approval's own role (else operator); admin always."""
    from engine.flowfile import load_flow

    live.add_user("dee", "designer")
    conn = _sign_in(window, qtbot, live, "dee")
    for_designers = load_flow(HELLO.parent / "approval.flow.json")
    for_designers.node("sign_off").config["role"] = "designer"
    for_designers.name = "designer-approval"
    conn.store.deploy(for_designers)
    mine = conn.store.create_run(for_designers, {"release": "v3"})
    for_operators = load_flow(HELLO.parent / "approval.flow.json")
    conn.store.deploy(for_operators)
    theirs = conn.store.create_run(for_operators, {"release": "v4"})
    qtbot.waitUntil(lambda: {a["run_id"] for a in conn.store.pending_approvals()}
                    == {mine, theirs}, timeout=20000)
    monitor = listed(qtbot, window.show_monitor())
    qtbot.waitUntil(lambda: theirs in monitor.model.row_of, timeout=10000)
    monitor.select_run(theirs)
    qtbot.waitUntil(lambda: (monitor.run or {}).get("run_id") == theirs, timeout=10000)
    monitor.select_node("sign_off")
    qtbot.waitUntil(lambda: "it needs operator or admin" in monitor.approve_action.toolTip(),
                    timeout=10000)
    assert not monitor.approve_action.isEnabled() and not monitor.reject_action.isEnabled()
    assert "may not decide this approval" in monitor.reject_action.toolTip()
    monitor.select_run(mine)
    qtbot.waitUntil(lambda: (monitor.run or {}).get("run_id") == mine, timeout=10000)
    monitor.select_node("sign_off")
    qtbot.waitUntil(monitor.approve_action.isEnabled, timeout=10000)
    assert monitor.reject_action.isEnabled()
    assert "may not" not in monitor.approve_action.toolTip()
    monitor.approve_action.trigger()
    qtbot.waitUntil(lambda: conn.store.get_run(mine)["status"] == "succeeded", timeout=20000)
    assert conn.store.get_run(theirs)["status"] == "waiting"


def test_a_role_changed_on_the_server_shows_after_the_next_token_refresh(
        qtbot, window, live: LiveServer) -> None:  # noqa: ANN001
    from engine.auth.users import set_roles

    live.add_user("rob", "designer", "operator")
    conn = _sign_in(window, qtbot, live, "rob")
    assert window.run_action.isEnabled() and window.remote.deploy_action.isEnabled()
    set_roles(live.engine, "rob", ["viewer"])
    conn.client._expires_at = 0  # the access token is due: the next call refreshes it
    conn.store.list_flows()
    qtbot.waitUntil(lambda: not window.run_action.isEnabled(), timeout=10000)
    assert "may not start runs" in window.run_action.toolTip()
    assert not window.remote.deploy_action.isEnabled()
    assert "(viewer)" in window.connection_label.text()
    assert "Your roles on" in window.last_message and "are now viewer" in window.last_message


def test_signing_in_again_as_the_same_user_revokes_the_previous_session(
        qtbot, window, live: LiveServer, memory_keyring) -> None:  # noqa: ANN001
    conn = _sign_in(window, qtbot, live)
    old_token = conn.client.refresh_token
    assert old_token is not None
    window.remote.connect_action.trigger()
    dialog = window.remote.login_dialog
    assert dialog is not None
    _fill_and_sign_in(qtbot, dialog, live.url, "ada")
    qtbot.waitUntil(lambda: "previous session is revoked" in window.last_message,
                    timeout=20000)
    assert window.connection is conn and conn.client.refresh_token != old_token
    assert _refresh_refused(live, old_token)
    new_token = memory_keyring.items[(service_for(live.url), "ada")]
    assert new_token == conn.client.refresh_token
    assert conn.store.list_flows() is not None  # the new session works
