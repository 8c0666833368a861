"""Regenerates the app's screenshots in docs/images (offscreen; no display needed).

Run: ``.venv/bin/python benchmarks/app_screenshots.py``. It uses a throwaway
FLOWDESK_HOME, runs a few example flows, and grabs the main window, the run
monitor and the inputs dialog.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["FLOWDESK_HOME"] = tempfile.mkdtemp(prefix="fd-shots-")
IMAGES = ROOT / "docs" / "images"
EXAMPLES = ROOT / "resources" / "examples"


def wait(app, until, timeout: float = 30.0) -> None:  # noqa: ANN001
    end = time.monotonic() + timeout
    while not until():
        app.processEvents()
        if time.monotonic() > end:
            raise TimeoutError("the run did not get there in time")
        time.sleep(0.01)


def main() -> None:
    from PySide6.QtWidgets import QApplication

    from app.inputs_dialog import InputsDialog
    from app.mainwindow import MainWindow
    from app.settings import AppSettings
    from app.theme import ThemeManager
    from engine.flowfile import flow_from_dict, load_flow

    app = QApplication([])
    settings = AppSettings()
    ThemeManager(app, "light")
    window = MainWindow(settings, show_welcome=False)
    window.resize(1280, 780)
    window.show()
    wait(app, lambda: window.connection is not None)
    store = window.connection.store
    done = []
    for name, inputs in (("hello.flow.json", {"who": "Ada"}), ("parallel-min.flow.json", {}),
                         ("race-any.flow.json", {}), ("approval.flow.json", {})):
        run_id = store.create_run(load_flow(EXAMPLES / name), inputs, created_by="ada")
        window.bridge.execute(run_id)
        done.append(run_id)
    failing = flow_from_dict({"format": "flowdesk/1", "name": "nightly-export", "nodes": [
        {"id": "start", "kind": "start", "x": 0, "y": 0},
        {"id": "export", "kind": "python", "name": "Export rows", "x": 200, "y": 0,
         "config": {"code": "print('exporting 1200 rows')\nraise RuntimeError('disk is full')"}},
        {"id": "end", "kind": "end", "x": 400, "y": 0}],
        "edges": [{"from": "start", "to": "export"}, {"from": "export", "to": "end"}]})
    failed = store.create_run(failing, {}, created_by="cron")
    window.bridge.execute(failed)
    wait(app, lambda: window.bridge.active_count() == 0)
    assert window.open_file(str(EXAMPLES / "branch-and-join.flow.json"))
    window.runner._start(window.editor.flow.copy(), {"n": 12},
                         str(EXAMPLES / "branch-and-join.flow.json"))
    wait(app, lambda: window.run_panel.run_status == "succeeded")
    wait(app, lambda: window.bridge.active_count() == 0)
    for _ in range(20):
        app.processEvents()
    window.editor.view_fit()
    app.processEvents()
    window.grab().save(str(IMAGES / "app-main.png"))
    monitor = window.show_monitor()
    monitor.resize(1280, 780)
    monitor.select_run(failed)
    wait(app, lambda: monitor.run is not None and monitor.run["status"] == "failed")
    monitor.select_node("export")
    wait(app, lambda: "disk is full" in monitor.inspector.error.text())
    for _ in range(20):
        app.processEvents()
    if monitor.graph is not None:
        monitor.graph.fit()
    app.processEvents()
    monitor.grab().save(str(IMAGES / "app-monitor.png"))
    monitor.tabs.setCurrentWidget(monitor.timeline)
    monitor.select_run(done[1])
    wait(app, lambda: monitor.run is not None and monitor.run["run_id"] == done[1]
         and bool(monitor.timeline.attempts))
    monitor.tabs.setCurrentWidget(monitor.timeline)
    for _ in range(20):
        app.processEvents()
    monitor.grab().save(str(IMAGES / "app-monitor-timeline.png"))
    typed = flow_from_dict({"format": "flowdesk/1", "name": "nightly-report", "inputs": {
        "day": {"type": "string", "default": "today", "description": "Which day"},
        "limit": {"type": "integer", "default": 500},
        "threshold": {"type": "number", "default": 0.95},
        "notify": {"type": "boolean", "default": True},
        "recipients": {"type": "array"},
        "options": {"type": "object", "default": {"format": "csv"}}},
        "nodes": [{"id": "start", "kind": "start"}, {"id": "end", "kind": "end"}],
        "edges": [{"from": "start", "to": "end"}]})
    dialog = InputsDialog(typed, parent=window)
    dialog.widgets["recipients"].setPlainText('["ops@example.com", 42')
    dialog.show()
    dialog.accept()  # shows the refusal sentence
    app.processEvents()
    dialog.grab().save(str(IMAGES / "app-inputs.png"))
    dialog.close()
    window.shutdown()
    print("wrote", ", ".join(sorted(p.name for p in IMAGES.glob("app-*.png"))))


if __name__ == "__main__":
    main()
