"""``segstudio train --config`` with YAML tags that construct Python objects is refused, and nothing runs
(yaml.safe_load; issue 13)."""
from __future__ import annotations

import pytest

from segstudio.core.errors import ConfigError
from segstudio.core.training import TrainConfig

from .conftest import run_cli

PAYLOADS = [
    "epochs: !!python/object/apply:os.system ['touch {marker}']\n",
    "model_kwargs: !!python/object/apply:subprocess.check_output [['touch', '{marker}']]\n",
    "epochs: !!python/object/new:builtins.int [3]\n",
    "lr: !!python/name:os.system\n",
    "model_kwargs: !!python/object:argparse.Namespace {{base: 4}}\n",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_python_tags_are_refused_and_nothing_runs(tmp_path, payload):
    marker = tmp_path / "ran"
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"data: {tmp_path}\n" + payload.format(marker=marker))
    with pytest.raises(ConfigError, match="refused: the YAML tag .*python.* would construct a Python object") as e:
        TrainConfig.from_file(cfg)
    assert str(cfg) in str(e.value)
    assert not marker.exists()


def test_cli_refuses_with_exit_2_and_no_traceback(tmp_path):
    marker = tmp_path / "ran"
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"data: {tmp_path}\nepochs: !!python/object/apply:os.system ['touch {marker}']\n")
    r = run_cli("train", "--config", cfg, "--out", tmp_path / "run")
    assert r.returncode == 2, r.stderr[-2000:]
    assert "would construct a Python object" in r.stderr and "Traceback" not in r.stderr
    assert not marker.exists() and not (tmp_path / "run").exists()
