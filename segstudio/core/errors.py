"""Typed errors shared by every part of segstudio.core.

Every error a user can cause carries the file it concerns and a human-readable reason, so the CLI and the
GUI can report "path: reason" without a traceback.
"""
from __future__ import annotations

import os
from typing import Optional


class SegStudioError(Exception):
    """Base class of all errors segstudio raises on purpose (bad input, bad config, refused files)."""

    def __init__(self, reason: str, path: "Optional[str | os.PathLike[str]]" = None):
        self.reason = reason
        self.path = os.fspath(path) if path is not None else None
        super().__init__(self.__str__())

    def __str__(self) -> str:  # "file: reason"
        return f"{self.path}: {self.reason}" if self.path else self.reason


class AnnotationError(SegStudioError):
    """A labelme JSON document (or its image) is invalid.

    ``shape_index`` is the 0-based index of the offending shape, or None when the problem is not a shape's.
    """

    def __init__(self, reason: str, path=None, shape_index: Optional[int] = None):
        self.shape_index = shape_index
        super().__init__(reason, path)

    def __str__(self) -> str:
        where = f" (shape {self.shape_index})" if self.shape_index is not None else ""
        return f"{self.path}{where}: {self.reason}" if self.path else f"{self.reason}{where}"


class MaskError(SegStudioError):
    """A label mask file breaks the mask conventions (values outside the class range, wrong size, ...)."""


class DatasetError(SegStudioError):
    """A dataset folder is missing parts, is empty, or its parts do not pair up."""


class ConfigError(SegStudioError):
    """A configuration value is invalid; ``path`` is the config file when there is one."""


class CheckpointError(SegStudioError):
    """A checkpoint cannot be loaded (missing, corrupt, or refused because it would run code)."""


class UnknownNameError(SegStudioError, KeyError):
    """A registry lookup failed. The message lists the known names."""

    def __init__(self, kind: str, name: str, known):
        self.kind, self.name, self.known = kind, name, sorted(known)
        SegStudioError.__init__(self, f"unknown {kind} {name!r}; known: {', '.join(self.known) or '(none)'}")

    def __str__(self) -> str:
        return self.reason


class Cancelled(SegStudioError):
    """Long work was cancelled by the user."""

    def __init__(self, reason: str = "cancelled"):
        super().__init__(reason)
