"""segstudio's PySide6 GUI.  Importing any part of it first applies the PySide6 6.12 reference-count guard
(:mod:`segstudio.gui.pyside_fix`), so every window, dock, worker and test is covered."""
from segstudio.gui import pyside_fix as _pyside_fix

_pyside_fix.apply()
