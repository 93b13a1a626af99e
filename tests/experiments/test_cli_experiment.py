"""`segstudio experiment`: runs a plan's queue with progress on stderr and prints the report's table; bad plans
exit 2 before anything trains; Ctrl-C stops cleanly and says how to continue; a runner killed outright leaves its
run training on, which the next runner stops and continues from its checkpoint."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from segstudio.cli import main
from segstudio.core.experiments.process import alive
from segstudio.core.training.run_folder import RunFolder

ROOT = Path(__file__).resolve().parents[2]
EPOCHS = 200   # tiny epochs (~0.1 s): enough of them that the interruptions land while the run trains


TWO_AUGMENTS = {"model": ["unet"], "loss": ["dice_ce"], "augment": ["none", "light"], "seed": [0]}


def test_runs_the_plan_prints_progress_and_the_results_table(tmp_path, masks_data, tiny_plan, capsys):
    plan, exp = tiny_plan(masks_data, grid=TWO_AUGMENTS), tmp_path / "EXP"
    assert main(["experiment", str(plan), "--out", str(exp)]) == 0
    out, err = capsys.readouterr()
    assert "[1/2] unet-dice_ce-none-s0: training" in err
    assert "[1/2] unet-dice_ce-none-s0: epoch 2/2" in err
    assert "[2/2] unet-dice_ce-light-s0: scoring best.pt on 3 held-out images" in err
    assert "queue: 2 done, 0 failed" in err
    table = (exp / "report" / "results.md").read_text(encoding="utf-8")
    assert table.strip() in out
    assert "none" in table and "light" in table
    for name in ("results.csv", "results.tex", "wilcoxon.csv"):
        assert (exp / "report" / name).is_file()
    # the report again, without training; then the paired test of the two runs
    assert main(["experiment", str(plan), "--out", str(exp), "--report-only"]) == 0
    assert table.strip() in capsys.readouterr().out
    assert main(["experiment", str(plan), "--out", str(exp), "--compare", "unet-dice_ce-none-s0",
                 "unet-dice_ce-light-s0", "--metric", "dice"]) == 0
    line = capsys.readouterr().out
    assert "Wilcoxon signed-rank, dice per held-out image" in line and "3 pairs" in line
    # the experiment folder alone is enough to continue or report
    assert main(["experiment", str(exp), "--report-only"]) == 0


def test_bad_plans_exit_2_before_anything_trains(tmp_path, masks_data, tiny_plan, capsys):
    plan = tiny_plan(masks_data, grid={"model": ["unet", "vnet"]})
    assert main(["experiment", str(plan), "--out", str(tmp_path / "EXP")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {plan}: grid.model: unknown model 'vnet'; known: ") and "cbam_unet" in err
    assert not (tmp_path / "EXP").exists()
    from segstudio.core.experiments.plan import load_plan
    from segstudio.core.experiments.queue import ExperimentQueue

    plan = tiny_plan(masks_data, grid={"seed": [0]})
    ExperimentQueue.create(load_plan(plan), tmp_path / "EXP")
    tiny_plan(masks_data, grid={"seed": [0, 1]})           # the plan changed since
    assert main(["experiment", str(plan), "--out", str(tmp_path / "EXP")]) == 2
    assert "grid.seed: [0] -> [0, 1]" in capsys.readouterr().err


def _cli(*args) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, "-m", "segstudio", "experiment", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _wait_for(predicate, timeout: float = 240) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _epochs(run: Path) -> int:
    try:
        return len(RunFolder(run).history())
    except Exception:  # noqa: BLE001 - metrics.csv being replaced
        return 0


def test_ctrl_c_stops_cleanly_and_a_killed_runner_is_continued(tmp_path, masks_data, tiny_plan):
    plan, exp = tiny_plan(masks_data, train={"epochs": EPOCHS}, grid={"seed": [0]}), tmp_path / "EXP"
    run = exp / "runs" / "unet-dice_ce-light-s0"
    proc = _cli(plan, "--out", exp)
    try:
        assert _wait_for(lambda: _epochs(run) >= 1 or proc.poll() is not None)
        proc.send_signal(signal.SIGINT)                              # Ctrl-C
        out, err = proc.communicate(timeout=240)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert f"continue with `segstudio experiment {plan} --out {exp}`" in err
    entry = json.loads((exp / "queue.json").read_text())["entries"][0]
    assert entry["status"] == "pending" and (run / "last.pt").is_file()
    stopped_at = _epochs(run)
    assert 1 <= stopped_at < EPOCHS
    # continued, then the runner itself is killed (SIGKILL): its training process lives on, in its own group
    proc = _cli(plan, "--out", exp)
    try:
        assert _wait_for(lambda: _epochs(run) > stopped_at + 1 or proc.poll() is not None)
        entry = json.loads((exp / "queue.json").read_text())["entries"][0]
        assert entry["status"] == "running"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(60)
    finally:
        proc.kill()
    orphan = entry["pid"]
    # the next runner stops the orphan (it saves last.pt) and continues the run to its end
    proc = _cli(plan, "--out", exp)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]
    assert not alive(orphan)
    assert [int(r["epoch"]) for r in RunFolder(run).history()] == list(range(1, EPOCHS + 1))
    assert json.loads((exp / "queue.json").read_text())["entries"][0]["status"] == "done"
    assert "queue: 1 done, 0 failed" in err
