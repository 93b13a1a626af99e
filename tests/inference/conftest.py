"""Fixtures of the inference tests."""
import pytest
from inference_helpers import make_checkpoint, threshold_registered


@pytest.fixture
def threshold_ckpt(tmp_path):
    """A checkpoint of the fixed-weight threshold model (registered as test_threshold while the test runs)."""
    with threshold_registered():
        yield make_checkpoint(tmp_path / "best.pt")
