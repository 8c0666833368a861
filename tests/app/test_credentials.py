"""Refresh tokens go to the OS keyring only; unsafe backends are refused."""

from __future__ import annotations

import os

import keyring
import pytest
from keyring.errors import KeyringError

from app.credentials import TokenVault, keyring_problem


def test_token_round_trip_and_delete(memory_keyring) -> None:
    vault = TokenVault("https://flow.example", "ada")
    vault.save("refresh-1")
    assert memory_keyring.items == {("flowdesk:https://flow.example", "ada"): "refresh-1"}
    assert TokenVault("https://flow.example", "ada").load() == "refresh-1"
    assert TokenVault("https://other.example", "ada").load() is None
    vault.save(None)
    assert memory_keyring.items == {}
    vault.delete()  # deleting twice is harmless


def test_plaintext_backend_is_refused(tmp_path) -> None:
    from keyrings.alt.file import PlaintextKeyring

    previous = keyring.get_keyring()
    plain = PlaintextKeyring()
    plain.file_path = str(tmp_path / "plain.cfg")  # type: ignore[misc]
    keyring.set_keyring(plain)
    try:
        assert "plain file" in (keyring_problem() or "")
        with pytest.raises(KeyringError):
            TokenVault("https://flow.example", "ada").save("secret-token")
        assert not (tmp_path / "plain.cfg").exists() or \
            "secret-token" not in (tmp_path / "plain.cfg").read_text()
    finally:
        keyring.set_keyring(previous)


def test_missing_keyring_is_refused() -> None:
    from keyring.backends.fail import Keyring as FailKeyring

    previous = keyring.get_keyring()
    keyring.set_keyring(FailKeyring())
    try:
        assert "no system keyring" in (keyring_problem() or "")
        assert TokenVault("https://flow.example", "ada").load() is None
    finally:
        keyring.set_keyring(previous)


@pytest.mark.keyring
def test_real_secret_service_keeps_the_token() -> None:
    """Against gnome-keyring under dbus-run-session (tests/run.sh sets it up)."""
    if os.environ.get("FLOWDESK_REAL_KEYRING") != "1":
        if os.environ.get("FLOWDESK_REQUIRE_KEYRING") == "1":
            pytest.fail("a real Secret Service is required (FLOWDESK_REQUIRE_KEYRING=1) but "
                        "tests/run.sh found no dbus-run-session/gnome-keyring")
        pytest.skip("no real Secret Service here (run through tests/run.sh)")
    from keyring.backends.SecretService import Keyring as SecretServiceKeyring

    previous = keyring.get_keyring()
    keyring.set_keyring(SecretServiceKeyring())
    try:
        assert keyring_problem() is None
        vault = TokenVault("https://flow.example", "grace")
        vault.save("refresh-real")
        assert TokenVault("https://flow.example", "grace").load() == "refresh-real"
        vault.delete()
        assert vault.load() is None
    finally:
        keyring.set_keyring(previous)


def test_weak_backend_is_refused_for_tokens_and_passwords() -> None:
    """One rule: a backend rating itself below 1 keeps neither tokens nor profile passwords."""
    from app.profiles import ProfileError, check_keyring
    from tests.app.conftest import MemoryKeyring

    class WeakKeyring(MemoryKeyring):
        priority = 0.5  # type: ignore[assignment]

    previous = keyring.get_keyring()
    weak = WeakKeyring()
    keyring.set_keyring(weak)
    try:
        assert "not a recommended secure store" in (keyring_problem() or "")
        with pytest.raises(KeyringError):
            TokenVault("https://flow.example", "ada").save("secret-token")
        with pytest.raises(ProfileError, match="not a recommended secure store"):
            check_keyring()
        assert weak.items == {}
    finally:
        keyring.set_keyring(previous)
