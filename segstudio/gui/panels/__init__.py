"""Dock panels of the annotation window: files, classes, shapes, image flags, image adjustment."""
