"""The Experiments dock's plan actions: Open plan... / Save plan... (checked by the core's ``load_plan`` on the
dock's :class:`~segstudio.gui.experiments.plan_io.PlanChecker`, written atomically) and the plan line above the
form.  A mixin of :class:`~segstudio.gui.experiments.dock.ExperimentsDock`: it uses the dock's ``form``,
``checker``, ``plan_label``, ``show_status`` / ``show_error``, ``start`` and its ``planChecked`` signal.
"""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox

from segstudio.core.errors import SegStudioError


class PlanActions:
    """Open / save / check the plan the form shows (mixed into the dock)."""

    def mark_clean(self) -> None:
        """The form as it is now is saved (or opened): :meth:`edited` compares with it."""
        self._clean_plan = self._form_plan()

    def _form_plan(self):
        try:
            return self.form.plan_dict()
        except ValueError:   # seeds being typed
            return None

    def edited(self) -> bool:
        """Whether the form holds changes that are in no file (it differs from what was last saved / opened)."""
        return self._form_plan() != getattr(self, "_clean_plan", None)

    def discard_ok(self) -> bool:
        """True when nothing unsaved would be lost, or the user agrees to lose it (``confirm_discard``)."""
        return not self.edited() or self.confirm_discard()

    def _confirm_discard(self) -> bool:
        answer = QMessageBox.question(self, "Discard the plan's changes?",
                                      "The plan in the form has changes that are not saved. Discard them?",
                                      QMessageBox.Yes | QMessageBox.No, QMessageBox.No)
        return answer == QMessageBox.Yes

    def _form_changed(self) -> None:
        self.plan_dirty = True
        self._update_plan_label()

    def _update_plan_label(self) -> None:
        if self.plan_path is None and self.exp_dir is not None and not self.plan_dirty:
            self.plan_label.setText(f"Plan of the experiment {self.exp_dir.name} (Save plan... to keep a copy)")
        elif self.plan_path is None:
            self.plan_label.setText("Plan not saved yet")
        else:
            self.plan_label.setText(f"Plan: {self.plan_path}" + (" (changed, not saved)" if self.plan_dirty else ""))

    def _start_dir(self) -> str:
        if self.plan_path is not None:
            return str(self.plan_path.parent)
        return str(self.project.folder) if self.project is not None else os.getcwd()

    def open_plan(self, path=None) -> bool:
        """Open a plan YAML into the form, once the core's ``load_plan`` accepted it (on a worker: the answer
        is ``planChecked``); a bad plan is refused with its reason.  False when nothing was started."""
        if not self.discard_ok():
            return False
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Open experiment plan", self._start_dir(),
                                                  "Plans (*.yaml *.yml);;All files (*)")
            if not path:
                return False
        return self._check(Path(path), None, then_start=False)

    def save_plan(self, path=None, *, then_start: bool = False) -> bool:
        """Check the form's plan with the core's ``load_plan`` (on a worker) and write it as YAML, atomically,
        when it is valid; a bad plan is shown with its reason and nothing is written.  ``then_start``: run it
        once saved.  False when nothing was started."""
        if path is None:
            start = str(Path(self._start_dir()) / f"{self.form.name.text().strip() or 'experiment'}.yaml")
            path, _ = QFileDialog.getSaveFileName(self, "Save experiment plan", start, "Plans (*.yaml *.yml)")
            if not path:
                return False
        path = Path(path)
        try:
            text = self._plan_text(path.parent)
        except SegStudioError as exc:
            self.show_error("The plan is not valid", str(exc))
            self.planChecked.emit(path, str(exc))
            return False
        return self._check(path, text, then_start=then_start)

    def _check(self, path: Path, text, then_start: bool) -> bool:
        if self.checker.busy or self.running:
            return False
        self._after_check = (text is None, then_start)
        self.show_status(f"Checking the plan {path.name}...")
        return self.checker.check(path, text)

    def _on_plan_checked(self, path: Path, info: dict) -> None:
        opened, then_start = self._after_check
        if opened:
            self.form.set_plan(info["raw"], plan_dir=path.parent)
        self.plan_path, self.plan_dirty = path, False
        self.mark_clean()
        self._update_plan_label()
        runs = f"{info['runs']} run{'s' if info['runs'] != 1 else ''}"
        self.show_status(f"{'Opened' if opened else 'Saved'} plan {path}: {runs}")
        self.planChecked.emit(path, "")
        if then_start:
            self.start(path)

    def _on_plan_failed(self, path: Path, message: str) -> None:
        opened, _ = self._after_check
        self.show_error("Cannot open the plan" if opened else "The plan is not valid", message)
        self.planChecked.emit(path, message)

    def _plan_text(self, plan_dir: Path) -> str:
        import yaml

        try:
            plan = self.form.plan_dict(plan_dir)
        except ValueError as exc:
            raise SegStudioError(f"seeds must be whole numbers ({exc})", "plan form") from None
        return yaml.safe_dump(plan, sort_keys=False, allow_unicode=True)
