"""Dialogs of the annotation window: the label dialog and the keyboard-shortcuts help."""
