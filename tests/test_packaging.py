"""A built wheel carries the icons, the example flows and every module, and works outside
the checkout: installed into a bare folder, the designer finds its icons and the app its
examples inside that folder, and the ``flowdesk`` script validates a bundled example.

The wheel is built from a copy of the sources (so the checkout gets no build/ folder) with
the venv's setuptools and no network (``--no-build-isolation``). One test builds a wheel
whose resources are left out and shows the same checks catch it.
"""

from __future__ import annotations

import configparser
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from designer.resources import resource_path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("engine", "designer", "app", "resources", "pyproject.toml", "README.md")
CODE = ("engine", "designer", "app")
RESOURCE_LINE = 'flowdesk_resources = ["icons/*.svg", "examples/*.json", "examples/*.md"]'

# Run in the installed folder with no site-packages processing (-S): no editable-install
# finder, no checkout on sys.path. Prints where the resources were found.
PROBE = """
import json, designer.icons, app.welcome
from designer.resources import resource_path
print(json.dumps({
    "designer": designer.icons.__file__,
    "icon_dir": str(designer.icons.ICON_DIR),
    "start_icon": str(designer.icons.icon_path("start")),
    "examples_dir": str(app.welcome.EXAMPLES_DIR),
    "examples": [path.name for path, _, _ in app.welcome.example_files()],
    "hello": str(resource_path("examples", "hello.flow.json")),
}))
"""


def _expected_files() -> set[str]:
    """Every file the wheel must hold: the code, the migrations template, the resources."""
    names = {
        path.relative_to(ROOT).as_posix()
        for package in CODE
        for path in (ROOT / package).rglob("*.py")
        if "__pycache__" not in path.parts
    }
    names.add("engine/store/migrations/script.py.mako")
    resources = ROOT / "resources"
    for pattern in ("__init__.py", "icons/*.svg", "examples/*.json", "examples/*.md"):
        names.update(
            "flowdesk_resources/" + path.relative_to(resources).as_posix()
            for path in resources.glob(pattern)
        )
    return names


def missing_from_wheel(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        present = set(archive.namelist())
    return sorted(_expected_files() - present)


def console_scripts(wheel: Path) -> dict[str, str]:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt"))
        parser = configparser.ConfigParser()
        parser.read_string(archive.read(name).decode("utf-8"))
    return dict(parser["console_scripts"]) if parser.has_section("console_scripts") else {}


def _build(tmp: Path, *, keep_resources: bool = True) -> Path:
    source = tmp / "src"
    source.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, source / name)
    if not keep_resources:
        pyproject = source / "pyproject.toml"
        text = pyproject.read_text(encoding="utf-8")
        assert RESOURCE_LINE in text
        pyproject.write_text(text.replace(RESOURCE_LINE, ""), encoding="utf-8")
    out = tmp / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-index",
         "--no-build-isolation", "-q", "-w", str(out)],
        cwd=source, check=True, capture_output=True, text=True, timeout=120,
    )
    (wheel,) = out.glob("flowdesk-*.whl")
    return wheel


def _install(wheel: Path, tmp: Path) -> Path:
    site = tmp / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q",
         "--target", str(site), str(wheel)],
        check=True, capture_output=True, text=True, timeout=120,
    )
    return site


def _run_installed(site: Path, args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Python without site processing; the installed folder first, then the dependencies."""
    dependencies = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), *sorted(dependencies)]),
               QT_QPA_PLATFORM="offscreen")
    return subprocess.run([sys.executable, "-S", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def resource_problems(found: dict, site: Path) -> list[str]:
    """What a user of the installed wheel would see go wrong, one line each."""
    problems = []
    if not Path(found["designer"]).resolve().is_relative_to(site.resolve()):
        problems.append(f"designer was imported from {found['designer']}, not the install")
    for key in ("icon_dir", "examples_dir"):
        folder = Path(found[key])
        if not folder.resolve().is_relative_to(site.resolve()):
            problems.append(f"{key} {folder} is outside the install")
        if not folder.is_dir():
            problems.append(f"{key} {folder} does not exist")
    if found["start_icon"] == "None":
        problems.append("the start icon is not found")
    expected = sorted(p.name for p in (ROOT / "resources" / "examples").glob("*.flow.json"))
    if found["examples"] != expected:
        problems.append(f"the welcome page lists {found['examples']}, not {expected}")
    return problems


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("wheel"))


@pytest.mark.slow
def test_the_wheel_holds_code_icons_examples_and_the_console_script(wheel: Path) -> None:
    assert missing_from_wheel(wheel) == [], (
        "missing from the wheel (a new sub-package goes into pyproject.toml's packages)"
    )
    assert console_scripts(wheel) == {"flowdesk": "app.entry:main"}


@pytest.mark.slow
def test_the_installed_wheel_finds_its_resources_outside_the_checkout(
    wheel: Path, tmp_path: Path
) -> None:
    site = _install(wheel, tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    probe = _run_installed(site, ["-c", PROBE], elsewhere)
    assert probe.returncode == 0, probe.stderr
    found = json.loads(probe.stdout)
    assert resource_problems(found, site) == []

    script = site / "bin" / "flowdesk"
    ok = _run_installed(site, [str(script), "validate", found["hello"]], elsewhere)
    assert (ok.returncode, ok.stderr) == (0, "")

    broken = elsewhere / "broken.flow.json"
    broken.write_text("{not json", encoding="utf-8")
    bad = _run_installed(site, [str(script), "validate", str(broken)], elsewhere)
    assert bad.returncode != 0
    assert "broken.flow.json" in bad.stderr
    assert "Traceback" not in bad.stderr


@pytest.mark.slow
def test_a_wheel_without_the_resources_is_caught(tmp_path: Path) -> None:
    """The checks above can fail: leave the resource files out and they name what is lost."""
    wheel = _build(tmp_path, keep_resources=False)
    missing = missing_from_wheel(wheel)
    assert "flowdesk_resources/icons/start.svg" in missing
    assert "flowdesk_resources/examples/hello.flow.json" in missing

    site = _install(wheel, tmp_path)
    probe = _run_installed(site, ["-c", PROBE], tmp_path)
    assert probe.returncode == 0, probe.stderr
    problems = resource_problems(json.loads(probe.stdout), site)
    assert any("icon_dir" in p and "does not exist" in p for p in problems)
    assert any("welcome page lists []" in p for p in problems)


def test_in_the_checkout_the_resources_are_the_top_level_folder() -> None:
    """``pip install -e .`` (old or new) and a bare checkout find resources/ itself."""
    assert resource_path("icons", "start.svg") == ROOT / "resources" / "icons" / "start.svg"
    assert resource_path("examples", "hello.flow.json").is_file()


def test_the_desktop_entry_starts_flowdesk_with_its_icon() -> None:
    """installer/flowdesk.desktop: the keys a Linux menu needs, and the icon it names."""
    import xml.etree.ElementTree as ElementTree

    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(ROOT / "installer" / "flowdesk.desktop", encoding="utf-8")
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application"
    assert entry["Name"] == "Flowdesk"
    assert entry["Exec"].split()[0] == "flowdesk"
    assert "Development" in entry["Categories"].split(";")
    icon = ROOT / "installer" / f"{entry['Icon']}.svg"
    root = ElementTree.parse(icon).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("viewBox") == "0 0 64 64"


@pytest.mark.gui
def test_the_app_icon_renders_in_qt(qapp: object) -> None:
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(ROOT / "installer" / "flowdesk.svg"))
    assert renderer.isValid()
    assert renderer.defaultSize().width() == 64
