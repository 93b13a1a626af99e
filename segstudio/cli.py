"""``segstudio`` entry point.

No arguments opens the GUI; subcommands run headless.  Each subcommand lives in its own module under
``segstudio.commands`` exposing ``register(subparsers)``; listing it in :data:`COMMAND_MODULES` is all it takes,
so adding a command never touches another command's file.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import Optional, Sequence

from segstudio.core.errors import SegStudioError

#: module names under segstudio.commands, in the order ``--help`` lists them
COMMAND_MODULES = (
    "gui",
    "sample",
    "convert",
    "import_data",
    "models",
    "train",
    "predict",
    "evaluate",
    "suggest",
    "demo",
    "plugins",
    "doctor",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="segstudio",
        description="Annotate images, train U-Net-family segmentation models and review predictions.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"segstudio.commands.{name}").register(sub)
    return parser


def os_error_text(exc: OSError) -> str:
    """``<file>: <reason>`` of an OSError, with what to do for a full disk or a permission problem."""
    import errno

    where = f"{exc.filename}: " if exc.filename else ""
    advice = {errno.ENOSPC: "free some disk space and run again", errno.EDQUOT: "free some disk space and run again",
              errno.EACCES: "fix the permissions and run again", errno.EPERM: "fix the permissions and run again",
              errno.EROFS: "the folder is read-only: choose another"}.get(exc.errno)
    return f"{where}{exc.strerror or exc}" + (f"; {advice}" if advice else "")


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--version"]:  # at once: building the parser imports every command (and torch)
        from segstudio.version import version_line

        print(version_line())
        return 0
    if argv == ["doctor", "--qt-probe"]:  # the display check before the GUI starts (gui/app.py): at once too
        from segstudio.commands.doctor import qt_probe

        return qt_probe()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from segstudio.version import version_line

        print(version_line())
        return 0
    if args.command is None:  # no subcommand: the GUI
        args = parser.parse_args(["gui"])
    try:
        rc = args.func(args)
    except SegStudioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:   # the machine's, not a bug: a full disk, no permission, a read-only folder
        print(f"error: {os_error_text(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return int(rc or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
