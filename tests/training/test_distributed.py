"""Distributed training on torch.distributed (issue 12): 2 CPU processes with gloo under torchrun.

* two processes with batch B train the same weights as one process with batch 2B (synchronised batch norm,
  gradients averaged), and their validation gives exactly the numbers one process gives;
* killing one process ends the whole run with a clear message and a complete last.pt;
* resuming under torchrun continues exactly (each process's generators are in the checkpoint).
"""
from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from segstudio.core.checkpoint import is_resumable, load_checkpoint
from segstudio.core.training import Log, TrainConfig, train
from segstudio.core.training.distributed import Dist, failure_report

pytestmark = pytest.mark.skipif(not (torch.distributed.is_available() and torch.distributed.is_gloo_available()),
                                reason="torch.distributed with gloo is not available in this torch build")

#: a 2-level U-Net with batch norm on 32 px images; a mean loss (ce) and no ignored pixels, so that the mean of
#: two processes' losses is the loss of their batches together
SETTINGS = {"img_size": 32, "model_kwargs": {"base": 4, "depth": 2}, "val_fraction": 0.25, "patience": 0,
            "warmup_epochs": 0.0, "loss": "ce", "scheduler": "constant", "device": "cpu", "threads": 1,
            "lr": 0.01, "amp": "off", "channels_last": False}
# float32, contiguous: bfloat16 autocast (CPUs with native bf16) and oneDNN channels-last convolutions sum in an
# order that depends on the batch size
COMPARED = ("train_loss", "val_loss", "miou", "mdice", "pixel_acc")


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """12 generated images: 9 to train on (4 per process, one left out), 3 to validate (an odd count)."""
    from segstudio.core.sample import make_sample_project

    return make_sample_project(tmp_path_factory.mktemp("ddp") / "project", n_images=12, seed=3)


def _config(path: Path, **changes) -> Path:
    path.write_text(yaml.safe_dump({**SETTINGS, **changes}), encoding="utf-8")
    return path


def _env() -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def _torchrun(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "-m", "segstudio", "train", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=_env())


def _rows(run: Path) -> list[dict]:
    with open(run / "metrics.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _assert_same_weights(a: dict, b: dict, atol: float) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.allclose(a[k].double(), b[k].double(), atol=atol, rtol=0), (k, (a[k] - b[k]).abs().max())


def test_two_processes_with_batch_b_train_as_one_process_with_batch_2b(project, tmp_path):
    run2, run1 = tmp_path / "two", tmp_path / "one"
    cfg_file = _config(tmp_path / "cfg.yaml", batch_size=2, epochs=3, augment="none")
    res = _torchrun("--config", str(cfg_file), "--data", str(project), "--out", str(run2), "-q")
    assert res.returncode == 0, res.stderr[-3000:]
    # rank 0 alone prints
    assert res.stdout.count("training unet on 9 images (val 3") == 1 and res.stdout.count("epoch   3/3") == 1

    cfg1 = TrainConfig.from_dict({**SETTINGS, "batch_size": 4, "epochs": 3, "augment": "none",
                                  "data": str(project), "out": str(run1)})
    events = list(train(cfg1))
    assert events[-1].reason == "completed"

    two, one = load_checkpoint(run2 / "last.pt"), load_checkpoint(run1 / "last.pt")
    assert (two["config"]["world_size"], one["config"]["world_size"]) == (2, 1)
    assert yaml.safe_load((run2 / "config.json").read_text())["world_size"] == 2
    assert len(two["rng_ranks"]) == 2 and "rng_ranks" not in one
    assert any("running_var" in k for k in two["state_dict"])      # the model has batch norm: it was synced
    _assert_same_weights(two["state_dict"], one["state_dict"], atol=2e-5)
    for r2, r1 in zip(_rows(run2), _rows(run1), strict=True):
        for key in COMPARED:
            assert float(r2[key]) == pytest.approx(float(r1[key]), abs=1e-5), (r2["epoch"], key)

    # validation over 2 processes (exact shards of the 3 images, confusion matrices summed) gives the numbers of
    # one process validating the same weights
    from segstudio.core.training.parts import build_parts
    from segstudio.core.training.step import validate

    parts = build_parts(TrainConfig.from_dict(two["config"]), None)
    parts.model.load_state_dict(two["state_dict"])
    val_loss, metrics = validate(parts)
    last = _rows(run2)[-1]
    assert val_loss == pytest.approx(float(last["val_loss"]), abs=1e-6)
    assert metrics["miou"] == pytest.approx(two["metrics"]["miou"], abs=1e-12)
    assert metrics["iou"] == pytest.approx(two["metrics"]["iou"], abs=1e-12)


def _descendants(root: int) -> list[int]:
    parents = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                parents[int(d.name)] = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, todo = [], [root]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parents.items() if pp == p]
        found += kids
        todo += kids
    return found


def _rank_pid(root: int, rank: int) -> int | None:
    for pid in _descendants(root):
        try:
            env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"RANK={rank}".encode() in env and b"TORCHELASTIC_RUN_ID" in b"".join(env):
            return pid
    return None


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, f"the run ended before {path.name} was written"
        assert time.monotonic() < deadline, f"{path} not written within {timeout} s"
        time.sleep(0.05)


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds the rank's process through /proc")
def test_killing_one_process_ends_the_run_and_resuming_under_torchrun_is_exact(project, tmp_path):
    run, resumed = tmp_path / "killed", tmp_path / "resumed"
    cfg_file = _config(tmp_path / "cfg.yaml", batch_size=2, epochs=200, augment="light", checkpoint_every=1)
    cmd = [sys.executable, "-m", "segstudio", "train", "--nproc", "2", "--config", str(cfg_file),
           "--data", str(project), "--out", str(run), "-q"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    try:
        _wait_for(run / "epoch_003.pt", proc)
        pid = _rank_pid(proc.pid, 1)
        assert pid is not None, "rank 1's process not found"
        os.kill(pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 1, err[-3000:]
    message = err.strip().splitlines()[-1]
    assert message.startswith("error: the distributed run of 2 processes stopped:"), err[-3000:]
    assert f"rank 1 (pid {pid}) was killed by SIGKILL" in message
    assert f"{run / 'last.pt'} (epoch" in message and f"segstudio train --nproc 2 --resume {run}" in message
    last = load_checkpoint(run / "last.pt")
    assert is_resumable(last) and last["epoch"] >= 2 and len(last["rng_ranks"]) == 2   # saved after epoch_NNN.pt

    # resume from epoch 1 under torchrun: epochs 2 and 3 again, as the uninterrupted run trained them
    reference = load_checkpoint(run / "epoch_003.pt")
    res = _torchrun("--resume", str(run / "epoch_001.pt"), "--epochs", "3", "--out", str(resumed), "-q")
    assert res.returncode == 0, res.stderr[-3000:]
    again = load_checkpoint(resumed / "last.pt")
    _assert_same_weights(again["state_dict"], reference["state_dict"], atol=1e-6)
    for a, b in zip(again["optimizer"]["state"].values(), reference["optimizer"]["state"].values()):
        assert torch.allclose(a["exp_avg"], b["exp_avg"], atol=1e-6)
    for r_again, r_ref in zip(_rows(resumed)[1:3], _rows(run)[1:3], strict=True):
        for key in COMPARED:
            assert float(r_again[key]) == pytest.approx(float(r_ref[key]), abs=1e-6), (r_again["epoch"], key)

    # the same checkpoint in one process: it trains on, and says it is not the exact continuation
    events = list(train(TrainConfig.from_dict({**reference["config"], "resume": str(run / "epoch_001.pt"),
                                               "out": str(tmp_path / "alone"), "epochs": 2})))
    assert any(isinstance(e, Log) and "written by 2 process(es), this run has 1" in e.message for e in events)
    assert events[-1].reason == "completed"


def test_each_process_trains_on_its_share_of_one_process_order():
    one = Dist().train_order(9, seed=5, epoch=4)
    legacy = torch.randperm(9, generator=torch.Generator().manual_seed(5 * 100003 + 4)).tolist()
    assert one == legacy          # one process: the order single-process runs always had
    ranks = [Dist(rank=r, world_size=2).train_order(9, seed=5, epoch=4) for r in (0, 1)]
    assert [len(r) for r in ranks] == [4, 4] and not set(ranks[0]) & set(ranks[1])
    for k in range(2):            # the k-th batches of 2 together = the k-th batch of 4 of one process
        assert set(ranks[0][2 * k:2 * k + 2] + ranks[1][2 * k:2 * k + 2]) == set(one[4 * k:4 * k + 4])
    assert Dist(rank=1, world_size=2).train_order(9, seed=5, epoch=5) != ranks[1]   # set_epoch reshuffles
    shards = [Dist(rank=r, world_size=3).shard(7) for r in range(3)]
    assert sorted(i for s in shards for i in s) == list(range(7))   # validation: every image exactly once


def test_failure_report_names_the_process_and_the_checkpoint(tmp_path):
    rc, message = failure_report({1: (-9, 4242), 0: (1, 4241)}, 2, tmp_path / "run")
    assert rc == 1
    assert "process rank 0 (pid 4241) exited with status 1; process rank 1 (pid 4242) was killed by SIGKILL" in message
    assert "no last.pt was written" in message
    assert failure_report({0: (130, 1), 1: (130, 2)}, 2, tmp_path)[0] == 130
    assert failure_report({0: (2, 1), 1: (2, 2)}, 2, tmp_path) == (2, "")


def test_nproc_gives_the_processes_the_same_command_line_without_itself():
    from segstudio.cli import build_parser
    from segstudio.commands.train import forwarded_args

    args = build_parser().parse_args(["train", "--data", "d", "--nproc", "2", "--epochs", "3", "--set", "a=1",
                                      "--set", "b=2", "-q", "--resume", "r", "--config", "x.yaml"])
    assert forwarded_args(args) == ["--data", "d", "--epochs", "3", "--config", "x.yaml", "--resume", "r",
                                    "--set", "a=1", "--set", "b=2", "--quiet"]


def test_more_processes_than_gpus_is_refused(monkeypatch):
    from segstudio.core.errors import ConfigError
    from segstudio.core.training.distributed import check_gpus

    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    check_gpus(1)
    with pytest.raises(ConfigError, match="2 training processes on this machine need 2 GPUs, it has 1"):
        check_gpus(2)


def test_a_process_of_the_run_ends_with_its_status_and_its_output_flushed():
    """end_process skips the interpreter's finalisation (a gloo teardown abort) but keeps the exit status and
    everything printed, even without a newline (buffered)."""
    code = ("import sys; from segstudio.core.training.distributed import end_process; "
            "print('stdout line', end=''); sys.stderr.write('stderr text'); end_process(3)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"})
    assert (res.returncode, res.stdout, res.stderr) == (3, "stdout line", "stderr text")
