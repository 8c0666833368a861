"""Starting runs from the editor: validate, ask inputs, run off the GUI thread, paint states.

Run (F5) refuses a flow with errors and says which; otherwise it asks for the
flow's inputs (when it declares any), records the run in the current store,
and hands it to the bridge, which executes it in its own thread. While it runs,
the editor's canvas shows every node's state from the bridge's event batches.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from app.background import Background
from app.monitor.timefmt import span
from engine.model import Flow

if TYPE_CHECKING:
    from app.bridge import EngineBridge
    from app.inputs_dialog import InputsDialog


class RunController(QObject):
    """Starts runs of the open flow and shows their live node states on a canvas."""

    started = Signal(str)            # run_id
    refused = Signal(list)           # the error messages that blocked the run
    failedToStart = Signal(str)      # one sentence

    def __init__(self, parent: QWidget, bridge: Callable[[], EngineBridge],
                 scene: Callable[[], Any]) -> None:
        super().__init__(parent)
        self._parent = parent
        self._bridge = bridge
        self._scene = scene
        self.current_run: str | None = None
        self.inputs_dialog: InputsDialog | None = None
        self.message_box: QMessageBox | None = None
        self._last_inputs: dict[str, dict[str, Any]] = {}
        self._states: dict[str, dict[str, Any]] = {}
        self.background = Background(self)

    # -- starting ---------------------------------------------------------------------
    def run(self, flow: Flow, source: str | None = None) -> None:
        """Validate, then ask inputs (non-blocking dialog), then start."""
        from engine.validate import validate

        problems = validate(flow)
        errors = [p.format(source or flow.name) for p in problems if p.is_error]
        if errors:
            self.refused.emit(errors)
            shown = "\n".join(errors[:8]) + (f"\n… and {len(errors) - 8} more"
                                             if len(errors) > 8 else "")
            self._show_box("Cannot run this flow",
                           f"The flow has {len(errors)} error(s); fix them first "
                           f"(see the Problems panel):\n\n{shown}")
            return
        snapshot = flow.copy()
        if snapshot.inputs:
            from app.inputs_dialog import InputsDialog  # on first use: off the start path

            dialog = InputsDialog(snapshot, self._last_inputs.get(snapshot.name), self._parent)
            dialog.accepted.connect(lambda: self._start(snapshot, dialog.values(), source))
            dialog.finished.connect(lambda _r: self._forget(dialog))
            dialog.finished.connect(dialog.deleteLater)
            self.inputs_dialog = dialog
            dialog.open()
        else:
            self._start(snapshot, {}, source)

    def _forget(self, dialog: InputsDialog) -> None:
        if self.inputs_dialog is dialog:
            self.inputs_dialog = None

    def _show_box(self, title: str, text: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok,
                          self._parent)
        box.setObjectName("runRefusedBox")
        box.finished.connect(box.deleteLater)
        self.message_box = box
        box.open()

    def _start(self, flow: Flow, inputs: dict[str, Any], source: str | None) -> None:
        """Record the run (off the GUI thread), then hand it to the bridge."""
        self.inputs_dialog = None
        bridge = self._bridge()
        store = bridge.store

        def create() -> str:
            return str(store.create_run(flow, inputs, source=source,
                                        created_by=getpass.getuser()))

        def created(run_id: Any, error: str) -> None:
            if error:
                self.failedToStart.emit(error)
                self._show_box("Cannot start the run", error)
                return
            self._last_inputs[flow.name] = inputs
            self.current_run = str(run_id)
            self._states = {}
            self._clear_canvas()
            bridge.execute(self.current_run)
            self.started.emit(self.current_run)

        self.background.call(create, created)

    def cancel_current(self, report: Callable[[str], None]) -> None:
        """Ask the current run to stop; ``report`` gets a sentence for the status bar."""
        run_id = self.current_run
        if run_id is None:
            report("No run to cancel.")
            return
        store = self._bridge().store

        def done(_result: Any, error: str) -> None:
            report(f"Cannot cancel: {error}" if error else
                   f"Cancel requested for run {run_id}.")

        self.background.call(lambda: store.request_cancel(run_id), done)

    # -- painting states ----------------------------------------------------------------
    def _clear_canvas(self) -> None:
        scene = self._scene()
        if scene is not None and hasattr(scene, "clear_run_states"):
            scene.clear_run_states()

    def on_events(self, batch: list[dict[str, Any]]) -> None:
        if self.current_run is None:
            return
        scene = self._scene()
        for ev in batch:
            if ev["run_id"] != self.current_run or ev["type"] != "node_status":
                continue
            node_id = ev.get("node_id")
            data = ev.get("data") or {}
            state = self._states.setdefault(node_id, {})
            state["status"] = data.get("status")
            state["attempts"] = data.get("attempt", state.get("attempts", 0))
            if data.get("started_at"):
                state["started_at"] = data["started_at"]
                state.pop("finished_at", None)
            if data.get("finished_at"):
                state["finished_at"] = data["finished_at"]
            if scene is None:
                continue
            item = scene.node_item(node_id)
            if item is not None:
                took = span(state.get("started_at"), state.get("finished_at"),
                            _event_time(ev))
                item.set_run_state(state["status"], int(state.get("attempts") or 0), took)

    def node_states(self) -> dict[str, str]:
        """The status each node of the current run shows on the canvas."""
        return {n: str(s.get("status")) for n, s in self._states.items()}


def _event_time(ev: dict[str, Any]) -> float:
    from app.monitor.timefmt import to_epoch

    return to_epoch(ev.get("ts")) or 0.0
