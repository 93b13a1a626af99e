"""Fixtures of the inference tests."""
import pytest
from inference_helpers import make_checkpoint


@pytest.fixture
def threshold_ckpt(tmp_path):
    return make_checkpoint(tmp_path / "best.pt")
