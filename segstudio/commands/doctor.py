"""``segstudio doctor``: what a bug report needs -- versions, devices, Qt, disk, settings folder, plugins.

Every check reports what it found; none of them stops the others.  The Qt platform plugin is tried in a
child process (``segstudio doctor --qt-probe``) because Qt aborts the whole process when it cannot load one.
Exit status 0 when nothing is wrong, 1 when a check found a problem (listed at the end).
"""
from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

#: below this much free space in the home folder, training runs and exports may fail
LOW_DISK_BYTES = 2 * 1024**3
QT_PROBE_TIMEOUT_S = 60


def register(sub) -> None:
    p = sub.add_parser("doctor", help="check the installation (versions, devices, Qt, disk, plugins)",
                       description="Print what a bug report needs: segstudio, Python, torch, CUDA/MPS devices, "
                                   "Qt and its platform plugin, free disk, the settings and log folders, and "
                                   "the plugins found (with the error of any that failed to load).")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--qt-probe", action="store_true", help="internal: start Qt once and print its platform")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.qt_probe:
        return qt_probe()
    report = collect()
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print(format_report(report))
    return 1 if report["problems"] else 0


def qt_probe() -> int:
    """Start a QGuiApplication and print the platform plugin it loaded (Qt aborts if it cannot)."""
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication(["segstudio-qt-probe"])
    print(f"qt-platform: {app.platformName()}")
    return 0


def probe_qt_platform() -> tuple[str | None, str | None]:
    """(platform plugin name, None) when Qt starts here, else (None, what Qt said)."""
    from segstudio.version import self_command

    try:
        r = subprocess.run(self_command("doctor", "--qt-probe"), capture_output=True, text=True,
                           timeout=QT_PROBE_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"probe could not run: {exc}"
    for line in r.stdout.splitlines():
        if line.startswith("qt-platform: ") and r.returncode == 0:
            return line.split(": ", 1)[1].strip(), None
    lines = [ln.strip() for ln in (r.stderr or "").splitlines() if ln.strip()]
    useful = [ln for ln in lines if ln.startswith("qt.qpa") or "no Qt platform plugin" in ln] or lines[-2:]
    return None, "; ".join(useful) or f"Qt exited with code {r.returncode}"


def check_writable(folder: Path) -> str | None:
    """None when ``folder`` exists (created if needed) and a file can be written there, else why not."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".segstudio-doctor-"):
            pass
    except OSError as exc:
        return f"{folder}: not writable ({exc.strerror or exc})"
    return None


def free_disk(path: Path) -> int | None:
    """Free bytes on the file system holding ``path`` (or its nearest existing parent)."""
    p = path
    while not p.exists() and p != p.parent:
        p = p.parent
    try:
        return shutil.disk_usage(p).free
    except OSError:
        return None


def plugin_report() -> dict:
    """The entry points of ``segstudio.plugins`` and the error of each one that failed to load."""
    from importlib import metadata

    from segstudio.core import registry

    registry.load_plugins()
    eps = [f"{e.name} = {e.value}" for e in metadata.entry_points(group="segstudio.plugins")]
    return {"found": eps, "failed": list(registry.plugin_errors)}


def collect() -> dict:
    """Run every check; ``problems`` lists what needs the user's attention."""
    from segstudio import __version__
    from segstudio.version import config_dir, install_kind, library_versions, log_dir, qt_versions, torch_info

    problems: list[str] = []
    report: dict = {
        "segstudio": __version__,
        "install": install_kind(),
        "location": str(Path(__file__).resolve().parents[1]),
        "python": f"{platform.python_version()} ({sys.executable})",
        "os": f"{platform.system()} {platform.release()} ({platform.machine()})",
    }
    report.update(torch_info())
    if str(report["torch"]).startswith("not importable"):
        problems.append(f"torch: {report['torch']}")
    report.update(qt_versions())
    report["libraries"] = library_versions()
    report["qt_platform_requested"] = os.environ.get("QT_QPA_PLATFORM") or "(default)"
    plugin, qt_error = probe_qt_platform()
    report["qt_platform_plugin"] = plugin or f"FAILED: {qt_error}"
    if qt_error:
        problems.append(f"Qt cannot start here, so the window cannot open: {qt_error} (the command-line tools "
                        "still work; on a server use `xvfb-run -a segstudio` or QT_QPA_PLATFORM=offscreen)")
    for key, folder in (("settings_folder", config_dir()), ("log_folder", log_dir())):
        why = check_writable(folder)
        report[key] = f"{folder} ({'writable' if why is None else why})"
        if why:
            problems.append(why)
    home = Path.home()
    free = free_disk(home)
    report["free_disk"] = f"{free / 1024**3:.1f} GiB free in {home}" if free is not None else f"unknown ({home})"
    if free is not None and free < LOW_DISK_BYTES:
        problems.append(f"{home}: only {free / 1024**3:.1f} GiB free (training runs and exports need space)")
    report["plugins"] = plugin_report()
    problems += [f"plugin failed to load: {e}" for e in report["plugins"]["failed"]]
    report["problems"] = problems
    return report


def _devices(report: dict) -> str:
    if report.get("cuda_error"):
        return f"CUDA check failed: {report['cuda_error']}"
    if report["cuda_available"]:
        return ", ".join(f"cuda:{i} {n}" for i, n in enumerate(report["cuda_devices"]))
    return "none (CPU only)"


def format_report(report: dict) -> str:
    libs = ", ".join(f"{k} {v}" for k, v in report["libraries"].items() if v)
    plugins = report["plugins"]
    rows = [
        ("segstudio", f"{report['segstudio']} ({report['install']}: {report['location']})"),
        ("Python", report["python"]),
        ("OS", report["os"]),
        ("torch", f"{report['torch']} (CUDA build: {report.get('torch_cuda_build', '-')})"),
        ("CUDA", f"{'available' if report['cuda_available'] else 'not available'}; devices: {_devices(report)}"),
        ("MPS", "available" if report["mps_available"] else "not available"),
        ("Qt", f"PySide6 {report['pyside6']}, Qt {report['qt']}"),
        ("Qt platform", f"{report['qt_platform_plugin']} (QT_QPA_PLATFORM={report['qt_platform_requested']})"),
        ("libraries", libs),
        ("free disk", report["free_disk"]),
        ("settings", report["settings_folder"]),
        ("logs", report["log_folder"]),
        ("plugins", ", ".join(plugins["found"]) or "none installed"),
    ]
    width = max(len(k) for k, _ in rows)
    lines = [f"{k.ljust(width)}  {v}" for k, v in rows]
    for err in plugins["failed"]:
        lines.append(f"{'':{width}}  FAILED: {err}")
    if report["problems"]:
        lines.append("")
        lines.append(f"{len(report['problems'])} problem(s):")
        lines += [f"  - {p}" for p in report["problems"]]
    else:
        lines.append("")
        lines.append("no problems found")
    return "\n".join(lines)
