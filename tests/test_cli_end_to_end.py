"""End to end through the CLI: sample -> train (tiny, 2 epochs) -> predict -> convert (ground truth) -> evaluate."""
from __future__ import annotations

import json

import pytest
import torch

from segstudio.cli import main


@pytest.fixture(autouse=True)
def one_torch_thread():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)  # `segstudio train` sets the thread count for its process


def test_sample_train_predict_evaluate(tmp_path, capsys):
    proj, run, pred, gt = (tmp_path / n for n in ("project", "run", "pred", "gt"))
    assert main(["sample", str(proj), "-n", "10"]) == 0
    tiny = tmp_path / "tiny.yaml"
    tiny.write_text("model_kwargs: {base: 4, depth: 2}\nval_fraction: 0.3\nlr: 0.01\n")
    rc = main(["train", "--data", str(proj), "--out", str(run), "--epochs", "2", "--batch-size", "2",
               "--img-size", "64", "--config", str(tiny), "--threads", "1", "-q"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "epoch   2/2" in out and "val_mIoU" in out and "lesion=" in out and "finished (completed)" in out
    assert (run / "best.pt").exists() and (run / "last.pt").exists()
    saved = json.loads((run / "config.json").read_text())
    assert saved["model_kwargs"] == {"base": 4, "depth": 2} and saved["img_size"] == 64 and saved["epochs"] == 2

    assert main(["predict", "--weights", str(run / "best.pt"), "--images", str(proj), "--out", str(pred),
                 "--quiet"]) == 0
    assert len(list(pred.glob("*.png"))) == 10
    assert main(["convert", str(proj), "--out", str(gt), "-f", "masks"]) == 0
    assert main(["evaluate", "--pred", str(pred), "--gt", str(gt / "masks"), "--classes", str(gt / "classes.txt"),
                 "--json", str(tmp_path / "eval.json"), "--no-hd95", "-q"]) == 0
    result = json.loads((tmp_path / "eval.json").read_text())
    assert result["n_images"] == 10 and set(result["per_class"]) == {"_background_", "lesion", "cyst"}

    # resume the finished run for one more epoch: settings come from the checkpoint
    assert main(["train", "--resume", str(run / "last.pt"), "--epochs", "3", "--threads", "1", "-q"]) == 0
    out = capsys.readouterr().out
    assert "epoch   3/3" in out and "epoch   1/" not in out


def test_train_bad_input_is_a_clear_error(tmp_path, capsys):
    assert main(["train", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "missing" in err and "Traceback" not in err
    bad = tmp_path / "c.yaml"
    bad.write_text("epochz: 3\n")
    assert main(["train", "--config", str(bad), "--data", "x", "--out", "y"]) == 2
    assert "epochz" in capsys.readouterr().err
    assert main(["train", "--out", str(tmp_path / "r")]) == 2
    assert "--data" in capsys.readouterr().err


def test_ctrl_c_stops_cleanly_and_saves_last(tmp_path):
    """First Ctrl-C: the run stops between batches, writes last.pt and exits 130; --set reaches the config."""
    import signal
    import subprocess
    import sys

    from segstudio.core.sample import make_sample_project
    from segstudio.core.training import load_checkpoint

    proj = make_sample_project(tmp_path / "project", n_images=8)
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "segstudio", "train", "--data", str(proj), "--out", str(run), "--epochs", "500",
           "--img-size", "32", "--batch-size", "2", "--set", "model_kwargs={base: 4, depth: 2}", "--set",
           "patience=0", "--threads", "1"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = []
    for line in p.stdout:  # blocks until the first epoch line is printed
        seen.append(line)
        if line.startswith("epoch   1/500"):
            break
    else:
        pytest.fail("no epoch line:\n" + "".join(seen))
    p.send_signal(signal.SIGINT)
    out, _ = p.communicate(timeout=120)
    assert p.returncode == 130, out
    assert "finished (cancelled)" in out and "Traceback" not in out
    ck = load_checkpoint(run / "last.pt")
    assert ck["epoch"] >= 1 and ck["config"]["model_kwargs"] == {"base": 4, "depth": 2}


def test_set_rejects_unknown_keys(tmp_path, capsys):
    assert main(["train", "--data", "d", "--out", "o", "--set", "widht=3"]) == 2
    assert "widht" in capsys.readouterr().err
