"""``segstudio`` entry point.

No arguments opens the GUI; subcommands run headless.  Each subcommand lives in its own module under
``segstudio.commands`` exposing ``register(subparsers)``; a line in :data:`COMMANDS` (name, module, help) is all it
takes, so adding a command never touches another command's file.  Only the chosen command's module is imported.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import Optional, Sequence

from segstudio.core.errors import SegStudioError

#: command name -> (module under segstudio.commands, the one-line help ``segstudio --help`` shows).  In the order
#: ``--help`` lists them.  Only the chosen command's module is imported (``main``): several import torch at
#: module level or in ``register`` (2+ s), which the GUI must not wait for before its first frame.  A module may
#: register several commands (import_data: import-masks, import-voc); tests/test_cli_help.py checks that this
#: table matches what the modules register.
COMMANDS = {
    "gui": ("gui", "open the annotation app (default command)"),
    "sample": ("sample", "write a generated sample project (labelme JSON + images)"),
    "convert": ("convert", "export a labelme folder as a VOC, COCO, YOLO-seg, nnU-Net or mask dataset"),
    "import-masks": ("import_data", "make a labelme project from images/ + masks/ + classes.txt"),
    "import-voc": ("import_data", "make a labelme project from a Pascal VOC folder (JPEGImages + SegmentationClass)"),
    "models": ("models", "list models and their parameter counts"),
    "train": ("train", "train a segmentation model into a run folder"),
    "predict": ("predict", "predict class masks for a folder of images"),
    "evaluate": ("evaluate", "score predicted masks against ground-truth masks"),
    "suggest": ("suggest", "rank the unannotated images by the model's uncertainty (annotate the first ones next)"),
    "demo": ("demo", "train on the generated sample project and write a report (headless)"),
    "experiment": ("experiment", "run an experiment plan (a grid of training runs) and compare the runs"),
    "plugins": ("plugins", "list models, losses, exporters and window extensions, including plugins'"),
    "doctor": ("doctor", "check the installation (versions, devices, Qt, disk, plugins)"),
}

#: module names under segstudio.commands, in the order ``--help`` lists their commands
COMMAND_MODULES = tuple(dict.fromkeys(module for module, _ in COMMANDS.values()))


def chosen_command(argv: Sequence[str]) -> Optional[str]:
    """The subcommand ``argv`` runs (its first word that is not an option), None when there is none."""
    return next((a for a in argv if not a.startswith("-")), None)


#: ``build_parser``'s default: every command module registers in full (tests, tools that inspect the parser)
ALL = "*"


def build_parser(command: Optional[str] = ALL) -> argparse.ArgumentParser:
    """The ``segstudio`` parser.  With a ``command`` name, only that command's module is imported and registered
    in full; every other command (all of them for None or an unknown name) gets a light parser with its help line
    from :data:`COMMANDS`: enough for ``segstudio --help`` and for argparse to reject an unknown name."""
    parser = argparse.ArgumentParser(
        prog="segstudio",
        description="Annotate images, train U-Net-family segmentation models and review predictions.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    full = set(COMMAND_MODULES) if command == ALL else {COMMANDS[command][0]} if command in COMMANDS else set()
    registered: set = set()
    for name, (module, help_text) in COMMANDS.items():
        if module not in full:
            sub.add_parser(name, help=help_text, add_help=False)
        elif module not in registered:  # registers all of the module's commands, in its own order
            importlib.import_module(f"segstudio.commands.{module}").register(sub)
            registered.add(module)
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
    args = build_parser(chosen_command(argv)).parse_args(argv)
    if args.version:
        from segstudio.version import version_line

        print(version_line())
        return 0
    if args.command is None:  # no subcommand: the GUI
        args = build_parser("gui").parse_args(["gui"])
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
