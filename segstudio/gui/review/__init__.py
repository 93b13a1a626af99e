"""Review in the app: the window extension ``install(session, services)`` adds the review dock (overlays,
metrics, model-assisted labelling) and a Review menu, and puts the overlay on the main canvas as a layer (canvas_overlay.py, key V); the dock
follows the session's current image and its
chosen checkpoint (set by the training dock's "Use for prediction" or by "Choose model...").

The dock works standalone too (``ReviewDock(project, document)`` makes its own session; then ``set_entry``).
"""
from __future__ import annotations

from PySide6.QtCore import Qt

from segstudio.gui.review.canvas_overlay import CanvasOverlay
from segstudio.gui.review.dock import ReviewDock

__all__ = ["CanvasOverlay", "ReviewDock", "install"]


def install(session, services) -> ReviewDock:
    """Window extension: the review dock and a Review menu (see gui/extensions.py)."""
    dock = ReviewDock(session=session, parent=services.window)
    services.add_dock("review", dock, Qt.BottomDockWidgetArea)   # as training.install: below, wide layout
    services.on_quit(dock.shutdown)     # a prediction still running when the app quits is cancelled and waited for
    # the overlay as a layer of the main canvas (V), in the View and Review menus and on the dock's button
    overlay = CanvasOverlay(dock, services.canvas, parent=dock)
    dock.canvas_overlay = overlay
    services.on_quit(overlay.shutdown)
    services.add_menu("&View").addAction(overlay.action)
    services.add_action("review_overlay", overlay.action, toolbar=True)     # on the tools bar, after Fit
    dock.imageActivated.connect(services.open_image)
    dock.predictionsChanged.connect(services.refresh_statuses)
    menu = services.add_menu("&Review")
    menu.addAction(dock.toggleViewAction())
    menu.addAction(overlay.action)
    for text, slot, key in (("Predict current image", lambda: dock.predict(all_images=False), "Ctrl+P"),
                            ("Predict all images", lambda: dock.predict(all_images=True), None),
                            ("Accept prediction", dock.accept_prediction, "Ctrl+Shift+A"),
                            ("Mark reviewed", lambda: dock.set_reviewed(True), None),
                            ("Choose model...", dock.choose_checkpoint, None)):
        services.add_menu_action(menu, text, slot, key)
    export = services.action("export")
    if export is not None:
        menu.addSeparator()
        menu.addAction(export)
    return dock
