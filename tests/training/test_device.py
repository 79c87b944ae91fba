import random

import numpy as np
import pytest
import torch

from core.training.device import choose_device, seed_everything

NO_ACCELERATOR = not torch.cuda.is_available() and not torch.backends.mps.is_available()


@pytest.mark.skipif(not NO_ACCELERATOR, reason="this machine has an accelerator")
def test_auto_falls_back_to_cpu():
    assert choose_device() == torch.device("cpu")
    assert choose_device("auto") == torch.device("cpu")


def test_explicit_cpu_is_honoured():
    assert choose_device("cpu") == torch.device("cpu")
    assert choose_device(" CPU ") == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_request_without_cuda_is_a_clear_error():
    with pytest.raises(ValueError, match="CUDA was requested"):
        choose_device("cuda")


@pytest.mark.skipif(torch.backends.mps.is_available(), reason="MPS is available here")
def test_mps_request_without_mps_is_a_clear_error():
    with pytest.raises(ValueError, match="MPS was requested"):
        choose_device("mps")


def test_unknown_device_is_rejected():
    with pytest.raises(ValueError, match="Unknown device 'tpu'"):
        choose_device("tpu")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_auto_prefers_cuda():
    assert choose_device().type == "cuda"


def _draws() -> tuple:
    return random.random(), np.random.rand(), torch.rand(1).item()  # noqa: NPY002


def test_seed_everything_makes_every_generator_repeat():
    seed_everything(123)
    first = _draws()
    seed_everything(123)
    assert _draws() == first
    seed_everything(124)
    assert _draws() != first
