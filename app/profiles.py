"""Connection profiles: where the app's engine keeps its runs.

A profile is a name and a kind of connection: the local SQLite default, another
SQLite file, or a PostgreSQL database by URL. A profile's password is never in
the settings file: it lives in the OS keyring (service ``flowdesk``, user
name = the profile's name), and a keyring that would keep it in plain text, or
that does not work at all, is refused with one sentence.

:class:`Connection` is what the rest of the app talks to; :class:`LocalConnection`
runs the engine in this process on a :class:`engine.runs.RunStore`. A later
``server`` profile type adds a remote implementation of the same face.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.runs import RunStore

KEYRING_SERVICE = "flowdesk"
# A PostgreSQL host that accepts the connection but never answers gives up after this
# many seconds (libpq's connect_timeout) instead of hanging the profile switch forever.
PG_CONNECT_TIMEOUT = 10
DEFAULT_PROFILE = "Local"
PROFILE_TYPES = ("sqlite", "postgresql", "server")  # server: app/remote.py


class ProfileError(ValueError):
    """A profile that cannot be saved or opened; the message is one sentence."""


@dataclass
class Profile:
    """One connection profile as stored in settings (never with a password)."""

    name: str
    type: str = "sqlite"
    url: str = ""          # empty for the default local store

    @property
    def is_default(self) -> bool:
        return self.type == "sqlite" and not self.url

    def store_url(self, password: str | None = None) -> str:
        """The SQLAlchemy URL to open, with ``password`` put in when given."""
        from sqlalchemy.engine import make_url

        from engine.store import default_url

        if self.type == "sqlite":
            return self.url or default_url()
        url = make_url(self.url)
        if password:
            url = url.set(password=password)
        return url.render_as_string(hide_password=False)

    def describe(self) -> str:
        from engine.store import describe

        if self.type == "server":
            return self.url
        return describe(self.store_url())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Profile:
        return cls(name=str(data.get("name", "")), type=str(data.get("type", "sqlite")),
                   url=str(data.get("url", "")))


def default_profile() -> Profile:
    return Profile(DEFAULT_PROFILE, "sqlite", "")


def make_profile(name: str, type_: str, location: str) -> tuple[Profile, str | None]:
    """Check what a user typed; returns the profile and a password taken out of the URL.

    ``location`` is a file path for ``sqlite`` and a URL for ``postgresql``. A
    password written into a PostgreSQL URL is moved out (to go to the keyring).
    """
    name = name.strip()
    if not name:
        raise ProfileError("A profile needs a name.")
    if type_ not in PROFILE_TYPES:
        raise ProfileError(f"Unknown profile type '{type_}' (use sqlite or postgresql).")
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from engine.store import describe

    location = location.strip()
    if type_ == "server":
        from app.remote import split_profile_url

        split_profile_url(location)
        return Profile(name, "server", location), None
    if type_ == "sqlite":
        if not location:
            raise ProfileError("A SQLite profile needs the path of its database file.")
        url = location if location.startswith("sqlite:") else f"sqlite:///{location}"
        return Profile(name, "sqlite", url), None
    try:
        url = make_url(location)
    except ArgumentError:
        raise ProfileError(f"'{location}' is not a PostgreSQL URL (try "
                           "postgresql+psycopg://user@host:5432/database).") from None
    if url.get_backend_name() != "postgresql":
        raise ProfileError(f"'{describe(location)}' is not a PostgreSQL URL (try "
                           "postgresql+psycopg://user@host:5432/database).")
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    password = url.password
    clean = url._replace(password=None).render_as_string(hide_password=False)
    return Profile(name, "postgresql", clean), (str(password) if password else None)


# -- the keyring --------------------------------------------------------------
def check_keyring() -> Any:
    """The keyring backend, or :class:`ProfileError` when it is plaintext or failing."""
    import keyring

    from app.credentials import keyring_problem

    problem = keyring_problem()  # the one rule for tokens and passwords alike
    if problem:
        raise ProfileError(f"Cannot keep the password safely: {problem}.")
    return keyring.get_keyring()


def save_password(profile_name: str, password: str) -> None:
    backend = check_keyring()
    try:
        backend.set_password(KEYRING_SERVICE, profile_name, password)
    except Exception as exc:  # noqa: BLE001 - any backend failure is one sentence
        raise ProfileError(f"The keyring refused the password: {exc}") from None


def load_password(profile_name: str) -> str | None:
    import keyring

    try:
        return keyring.get_password(KEYRING_SERVICE, profile_name)
    except Exception:  # noqa: BLE001 - no keyring means no stored password
        return None


def delete_password(profile_name: str) -> None:
    import keyring

    try:
        keyring.delete_password(KEYRING_SERVICE, profile_name)
    except Exception:  # noqa: BLE001 - nothing stored is fine
        pass


# -- connections ----------------------------------------------------------------
class Connection(ABC):
    """What the app needs from wherever runs live; one per open profile."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile

    @property
    @abstractmethod
    def store(self) -> RunStore:
        """The run store (a local one now; a server profile will bring a remote one)."""

    @abstractmethod
    def describe(self) -> str:
        """Profile name and where it points, password hidden."""

    @abstractmethod
    def close(self) -> None: ...

    @property
    def runs_locally(self) -> bool:
        """Whether runs started here execute in this process."""
        return True


class LocalConnection(Connection):
    """The engine in this process, on a SQLite file or a PostgreSQL database."""

    def __init__(self, profile: Profile, password: str | None = None) -> None:
        super().__init__(profile)
        from engine.runs import RunStore
        from engine.store import StoreError

        if profile.type == "postgresql" and password is None:
            password = load_password(profile.name)
        self.url = profile.store_url(password)
        try:
            self._store = RunStore.open(self._open_url())
        except StoreError as exc:
            raise ProfileError(str(exc)) from None

    def _open_url(self) -> str:
        """The URL to open: a PostgreSQL one gets a connect timeout unless it names one."""
        from sqlalchemy.engine import make_url

        url = make_url(self.url)
        if url.get_backend_name() != "postgresql" or "connect_timeout" in url.query:
            return self.url
        url = url.update_query_dict({"connect_timeout": str(PG_CONNECT_TIMEOUT)})
        return url.render_as_string(hide_password=False)

    @property
    def store(self) -> RunStore:
        return self._store

    def describe(self) -> str:
        from engine.store import describe

        return f"{self.profile.name} — {describe(self.url)}"

    def reopen(self) -> None:
        """Drop every pooled connection and open the store again (after a restore)."""
        from engine.runs import RunStore

        self._store.engine.dispose()
        self._store = RunStore.open(self._open_url())

    def close(self) -> None:
        self._store.engine.dispose()


def open_connection(profile: Profile) -> Connection:
    if profile.type == "server":
        from app.remote import RemoteConnection

        return RemoteConnection(profile)
    if profile.type in PROFILE_TYPES:
        return LocalConnection(profile)
    raise ProfileError(f"Profiles of type '{profile.type}' are not supported yet.")


# -- the list of profiles ---------------------------------------------------------
class ProfileBook:
    """The profiles kept in settings (the default ``Local`` one is always there)."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings

    def all(self) -> list[Profile]:
        stored = [Profile.from_dict(d) for d in self.settings.profiles()]
        stored = [p for p in stored if p.name and p.name != DEFAULT_PROFILE]
        return [default_profile(), *stored]

    def get(self, name: str | None) -> Profile:
        for profile in self.all():
            if profile.name == name:
                return profile
        return default_profile()

    def save(self, profile: Profile, password: str | None = None,
             replacing: str | None = None) -> None:
        """Add or replace a profile; a password goes to the keyring first (or nothing is saved)."""
        if profile.name == DEFAULT_PROFILE and not profile.is_default:
            raise ProfileError(f"'{DEFAULT_PROFILE}' is the built-in local profile; choose "
                               "another name.")
        names = [p.name for p in self.all()]
        if profile.name in names and profile.name != replacing:
            raise ProfileError(f"A profile named '{profile.name}' already exists.")
        renamed = bool(replacing) and replacing != profile.name
        if not password and renamed and profile.type == "postgresql":
            password = load_password(str(replacing))  # a renamed profile keeps its password
        if password:
            if profile.type != "postgresql":
                raise ProfileError("Only PostgreSQL profiles take a password.")
            save_password(profile.name, password)
        kept = [p for p in self.all()[1:] if p.name not in (profile.name, replacing)]
        self.settings.set_profiles([p.to_dict() for p in [*kept, profile]])
        if renamed:
            delete_password(str(replacing))

    def remove(self, name: str) -> None:
        if name == DEFAULT_PROFILE:
            raise ProfileError("The built-in local profile cannot be removed.")
        self.settings.set_profiles([p.to_dict() for p in self.all()[1:] if p.name != name])
        delete_password(name)
