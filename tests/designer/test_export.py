"""`flowdesk export FILE OUT.png|OUT.svg`, run as a user would, with no display."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from canvas_support import EXAMPLE, write_flow
from PySide6.QtGui import QImage

ROOT = Path(__file__).resolve().parents[2]


def _flowdesk(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    return subprocess.run([sys.executable, "-m", "app.entry", "export", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)


def test_png_of_sensible_size(tmp_path: Path) -> None:
    src = write_flow(tmp_path / "nightly.flow.json")
    out = tmp_path / "nightly.png"
    result = _flowdesk(str(src), str(out))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    image = QImage(str(out))
    assert not image.isNull()
    # five nodes spread over 800 x 120 scene units, drawn at 1.5x with a margin
    assert 1000 < image.width() < 2000 and 200 < image.height() < 600
    colours = {image.pixelColor(x, y).name() for x in range(0, image.width(), 2)
               for y in range(0, image.height(), 2)}
    # the kinds' colours (start green, http teal, end red) are drawn
    assert {"#2e7d32", "#00838f", "#c62828"} <= colours


def test_svg_names_every_node_as_text(tmp_path: Path) -> None:
    src = write_flow(tmp_path / "nightly.flow.json")
    out = tmp_path / "nightly.svg"
    result = _flowdesk(str(src), str(out))
    assert result.returncode == 0, result.stderr
    tree = ET.parse(out)
    texts = {"".join(t.itertext()).strip() for t in tree.iter("{http://www.w3.org/2000/svg}text")}
    for node in EXAMPLE["nodes"]:
        assert node.get("name", node["id"]) in texts
    assert "when nodes.fetch.output.status == 200" in texts
    assert "default" in texts
    assert tree.getroot().find("{http://www.w3.org/2000/svg}title").text == "nightly-report"


def test_svg_keeps_a_long_name_in_full(tmp_path: Path) -> None:
    long_name = "Fetch the nightly sales report from the regional warehouse"
    data = {"format": "flowdesk/1", "name": "long",
            "nodes": [{"id": "fetch", "kind": "http", "name": long_name, "x": 0, "y": 0}]}
    src = write_flow(tmp_path / "long.flow.json", data)
    out = tmp_path / "long.svg"
    assert _flowdesk(str(src), str(out)).returncode == 0
    texts = {"".join(t.itertext()).strip()
             for t in ET.parse(out).iter("{http://www.w3.org/2000/svg}text")}
    assert long_name in texts


@pytest.mark.parametrize(("make", "out", "message"), [
    (lambda d: write_flow(d / "f.flow.json"), "f.jpg", "the output must end in .png or .svg"),
    (lambda d: d / "missing.flow.json", "f.png", "missing.flow.json: no such file"),
    (lambda d: (d / "bad.flow.json", (d / "bad.flow.json").write_text("{"))[0], "f.png",
     "not valid JSON"),
    (lambda d: (d / "v2.flow.json",
                (d / "v2.flow.json").write_text('{"format": "flowdesk/2", "nodes": []}'))[0],
     "f.svg", "flowdesk/2"),
    (lambda d: write_flow(d / "f.flow.json"), "no/such/dir/f.png", "does not exist"),
])
def test_bad_input_is_one_sentence_and_exit_2(tmp_path: Path, make, out, message) -> None:
    src = make(tmp_path)
    result = _flowdesk(str(src), str(tmp_path / out))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / out).exists()


def test_wrong_number_of_arguments(tmp_path: Path) -> None:
    result = _flowdesk("only-one.flow.json")
    assert result.returncode == 2
    assert "usage: flowdesk export FILE OUT.png|OUT.svg" in result.stderr


def test_an_empty_flow_still_exports(tmp_path: Path) -> None:
    src = write_flow(tmp_path / "empty.flow.json", {"format": "flowdesk/1", "name": "e",
                                                    "nodes": []})
    result = _flowdesk(str(src), str(tmp_path / "e.png"))
    assert result.returncode == 0, result.stderr
    assert not QImage(str(tmp_path / "e.png")).isNull()
