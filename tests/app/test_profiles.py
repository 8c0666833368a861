"""Connection profiles: passwords in the keyring only, refusals, switching stores."""

from __future__ import annotations

from pathlib import Path

import keyring
import pytest
from PySide6.QtCore import Qt

from app.profiles import ProfileBook, ProfileError, make_profile
from app.profiles_dialog import ProfilesDialog
from app.settings import AppSettings, settings_path
from engine.runs import RunStore
from tests.app.helpers import listed, seed_runs, start_slow_run, switch


def test_postgres_password_goes_to_keyring_not_settings(qtbot, settings: AppSettings,
                                                        memory_keyring) -> None:  # noqa: ANN001
    book = ProfileBook(settings)
    dialog = ProfilesDialog(book, "Local")
    qtbot.addWidget(dialog)
    dialog.new_profile()
    qtbot.keyClicks(dialog.name, "shared")
    dialog.type.setCurrentIndex(dialog.type.findData("postgresql"))
    qtbot.keyClicks(dialog.location, "postgresql+psycopg://ops@db.example:5432/flows")
    qtbot.keyClicks(dialog.password, "s3cret-Pa55")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.error.text() == ""
    assert memory_keyring.items == {("flowdesk", "shared"): "s3cret-Pa55"}
    settings.q.sync()
    text = Path(settings.q.fileName()).read_text()
    assert "db.example" in text and "s3cret" not in text
    profile = book.get("shared")
    assert profile.url == "postgresql+psycopg://ops@db.example:5432/flows"
    assert "s3cret" not in profile.describe()


def test_password_in_url_is_moved_to_keyring(settings: AppSettings, memory_keyring) -> None:  # noqa: ANN001
    profile, password = make_profile("p", "postgresql", "postgresql://ops:pw1@h/db")
    assert password == "pw1" and "pw1" not in profile.url
    assert profile.url.startswith("postgresql+psycopg://")
    ProfileBook(settings).save(profile, password)
    assert keyring.get_password("flowdesk", "p") == "pw1"
    assert "pw1" not in Path(settings.q.fileName()).read_text()


def test_plaintext_keyring_is_refused_and_nothing_saved(settings: AppSettings,
                                                       tmp_path: Path) -> None:
    from keyrings.alt.file import PlaintextKeyring

    previous = keyring.get_keyring()
    plain = PlaintextKeyring()
    plain.file_path = str(tmp_path / "plain.cfg")  # type: ignore[misc]
    keyring.set_keyring(plain)
    try:
        profile, _ = make_profile("p", "postgresql", "postgresql+psycopg://ops@h/db")
        with pytest.raises(ProfileError, match="plain file"):
            ProfileBook(settings).save(profile, "pw")
        assert [p.name for p in ProfileBook(settings).all()] == ["Local"]
        assert not (tmp_path / "plain.cfg").exists()
    finally:
        keyring.set_keyring(previous)


@pytest.mark.parametrize(("type_", "location", "message"), [
    ("postgresql", "not a url", "is not a PostgreSQL URL"),
    ("postgresql", "sqlite:///x.db", "is not a PostgreSQL URL"),
    ("sqlite", "", "needs the path of its database file"),
])
def test_bad_profiles_are_one_sentence(type_: str, location: str, message: str) -> None:
    with pytest.raises(ProfileError, match=message):
        make_profile("x", type_, location)
    with pytest.raises(ProfileError, match="needs a name"):
        make_profile(" ", type_, location)


def test_default_settings_live_in_flowdesk_home(flowdesk_home: Path, monkeypatch) -> None:  # noqa: ANN001
    from app import settings as app_settings
    from engine import store

    assert Path(settings_path()).parent == flowdesk_home
    assert app_settings.data_dir() == store.data_dir()
    monkeypatch.delenv("FLOWDESK_HOME")
    assert app_settings.data_dir() == store.data_dir()


@pytest.mark.postgres
def test_switching_to_a_postgres_profile_shows_its_runs(window, qtbot, pg_url: str,
                                                       memory_keyring) -> None:  # noqa: ANN001
    local = window.connection.store
    seed_runs(local, 3, flows=("local-flow",))
    pg_store = RunStore.open(pg_url)
    seed_runs(pg_store, 7, flows=("pg-flow",))
    pg_store.close()
    monitor = listed(qtbot, window.show_monitor())
    assert monitor.model.total == 3
    profile, password = make_profile("shared", "postgresql", pg_url)
    window.profiles.save(profile, password or None)
    assert switch(window, qtbot, "shared")
    assert "shared" in window.connection_label.text()
    assert "127.0.0.1" in window.connection_label.text()
    assert monitor.model.total == 7
    assert {r["flow_name"] for r in monitor.model.rows} == {"pg-flow"}
    assert window.settings.current_profile() == "shared"
    # a profile that cannot be opened keeps the current connection
    bad, _ = make_profile("nowhere", "postgresql", "postgresql+psycopg://u@127.0.0.1:1/x")
    window.profiles.save(bad)
    assert not switch(window, qtbot, "nowhere")
    assert "Cannot connect to nowhere" in window.last_message
    assert monitor.model.total == 7
    assert switch(window, qtbot, "Local")
    assert monitor.model.total == 3


def test_no_keyring_is_refused(settings: AppSettings) -> None:
    from keyring.backends.fail import Keyring as FailKeyring

    previous = keyring.get_keyring()
    keyring.set_keyring(FailKeyring())
    try:
        profile, _ = make_profile("p", "postgresql", "postgresql+psycopg://ops@h/db")
        with pytest.raises(ProfileError, match="no system keyring"):
            ProfileBook(settings).save(profile, "pw")
        assert [p.name for p in ProfileBook(settings).all()] == ["Local"]
        # a profile without a password is fine (trust or .pgpass authentication)
        ProfileBook(settings).save(profile)
        assert [p.name for p in ProfileBook(settings).all()] == ["Local", "p"]
    finally:
        keyring.set_keyring(previous)


@pytest.mark.keyring
def test_profile_password_in_a_real_secret_service(settings: AppSettings) -> None:
    """Against gnome-keyring under dbus-run-session (tests/run.sh sets it up)."""
    import os

    if os.environ.get("FLOWDESK_REAL_KEYRING") != "1":
        if os.environ.get("FLOWDESK_REQUIRE_KEYRING") == "1":
            pytest.fail("a real Secret Service is required (FLOWDESK_REQUIRE_KEYRING=1)")
        pytest.skip("no real Secret Service here (run through tests/run.sh)")
    from keyring.backends.SecretService import Keyring as SecretServiceKeyring

    from app.profiles import delete_password, load_password

    previous = keyring.get_keyring()
    keyring.set_keyring(SecretServiceKeyring())
    try:
        profile, _ = make_profile("real", "postgresql", "postgresql+psycopg://ops@h/db")
        ProfileBook(settings).save(profile, "real-secret")
        assert load_password("real") == "real-secret"
        assert "real-secret" not in Path(settings.q.fileName()).read_text()
        ProfileBook(settings).remove("real")
        assert load_password("real") is None
    finally:
        delete_password("real")
        keyring.set_keyring(previous)


def test_renaming_and_removing_a_profile_moves_and_drops_its_password(
        qtbot, settings: AppSettings, memory_keyring) -> None:  # noqa: ANN001
    book = ProfileBook(settings)
    profile, _ = make_profile("old", "postgresql", "postgresql+psycopg://ops@h/db")
    book.save(profile, "pw-1")
    dialog = ProfilesDialog(book, "Local")
    qtbot.addWidget(dialog)
    items = [dialog.list.item(i) for i in range(dialog.list.count())]
    dialog.list.setCurrentItem(next(i for i in items if i.text() == "old"))
    assert dialog.name.text() == "old" and dialog.password.text() == ""
    dialog.name.setText("new")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.error.text() == ""
    assert [p.name for p in book.all()] == ["Local", "new"]
    assert memory_keyring.items == {("flowdesk", "new"): "pw-1"}
    # a second profile may not take a name in use; the built-in one stays
    dialog.new_profile()
    dialog.name.setText("new")
    dialog.location.setText("/tmp/other.db")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.error.text() == "A profile named 'new' already exists."
    dialog.list.setCurrentItem(dialog.list.item(0))
    assert not dialog.remove_button.isEnabled()
    dialog.list.setCurrentItem(next(dialog.list.item(i) for i in range(dialog.list.count())
                                    if dialog.list.item(i).text() == "new"))
    qtbot.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
    assert [p.name for p in book.all()] == ["Local"]
    assert memory_keyring.items == {}


def test_switching_pauses_runs_and_switching_back_resumes_them(window, qtbot, tmp_path: Path,
                                                              memory_keyring) -> None:  # noqa: ANN001
    run_id = start_slow_run(window, qtbot)
    other, _ = make_profile("scratch", "sqlite", str(tmp_path / "scratch.db"))
    window.profiles.save(other)
    assert switch(window, qtbot, "scratch")
    assert "1 run(s) of Local were paused" in window.last_message
    assert window.bridge.active_count() == 0
    assert switch(window, qtbot, "Local")
    assert "Resumed 1 interrupted run(s)." in window.last_message
    assert window.bridge.active_runs() == [run_id]
    window.connection.store.request_cancel(run_id)
    qtbot.waitUntil(lambda: window.bridge.active_count() == 0, timeout=10000)
