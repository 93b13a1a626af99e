"""Fixtures for the training tests: a small generated project and a tiny, fast config."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def tiny_project(tmp_path_factory):
    """8 generated images (lesion + cyst), written once per test module."""
    from segstudio.core.sample import make_sample_project

    return make_sample_project(tmp_path_factory.mktemp("tiny") / "project", n_images=8, seed=3)


@pytest.fixture
def tiny_cfg(tiny_project, tmp_path):
    """A config that trains a 2-level, 4-channel U-Net on 32x32 images: a few hundred ms per epoch."""
    from segstudio.core.training import TrainConfig

    return TrainConfig(data=str(tiny_project), out=str(tmp_path / "run"), img_size=32, batch_size=2,
                       epochs=2, model_kwargs={"base": 4, "depth": 2}, val_fraction=0.25, patience=0,
                       warmup_epochs=0.5)


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models gain nothing from threads, and on a shared machine spinning threads cost a lot."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
