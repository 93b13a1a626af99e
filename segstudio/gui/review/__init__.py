"""Review in the app: ``install(window)`` adds the review dock (overlays, metrics, model-assisted labelling)
and a Review menu; it follows the window's current image and the training dock's chosen checkpoint.

The dock works standalone too (``ReviewDock(project, document)``, then ``set_entry``).
"""
from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Qt

from segstudio.gui.review.dock import ReviewDock

__all__ = ["ReviewDock", "install"]


def install(window) -> ReviewDock:
    dock = ReviewDock(getattr(window, "project", None), getattr(window, "document", None), window)
    window.addDockWidget(Qt.RightDockWidgetArea, dock)   # see training.install: column or wide layout
    window.review_dock = dock
    training = getattr(window, "training_dock", None)
    if training is not None:
        window.tabifyDockWidget(training, dock)
        training.checkpointChosen.connect(dock.set_checkpoint)
        training.raise_()

    def on_image(entry):
        if getattr(window, "project", None) is not dock.project:
            dock.set_project(window.project)
        dock.set_document(getattr(window, "document", None))
        dock.set_entry(entry)

    window.currentImageChanged.connect(on_image)
    app = QCoreApplication.instance()
    if app is not None:   # a prediction still running when the app quits is cancelled and waited for
        app.aboutToQuit.connect(dock.shutdown)
    opened = getattr(window, "projectOpened", None)
    if opened is not None:
        opened.connect(lambda project: dock.set_project(project))
    dock.imageActivated.connect(window.open_image)
    dock.predictionsChanged.connect(window.refresh_statuses)
    menu = window.menuBar().addMenu("&Review")
    menu.addAction(dock.toggleViewAction())
    for text, slot, key in (("Predict current image", lambda: dock.predict(all_images=False), "Ctrl+P"),
                            ("Predict all images", lambda: dock.predict(all_images=True), None),
                            ("Accept prediction", dock.accept_prediction, "Ctrl+Shift+A"),
                            ("Mark reviewed", lambda: dock.set_reviewed(True), None),
                            ("Choose model...", dock.choose_checkpoint, None)):
        act = menu.addAction(text)
        if key:
            act.setShortcut(key)
        act.triggered.connect(lambda _=False, s=slot: s())
    from segstudio.gui import export_dialog

    export_dialog.install(window)
    menu.addSeparator()
    menu.addAction(window.export_action)
    return dock
