"""minicnn.accelerator answers as torch.accelerator does on the same machine."""
import torch

import minicnn


def test_answers_match_torch_on_this_machine():
    """With neither a GPU for CuPy nor for torch, both say: none, None, 0 (and never raise)."""
    if torch.cuda.is_available() != minicnn.cuda.is_available():
        mine = minicnn.accelerator.current_accelerator()
        assert (mine is not None) == minicnn.cuda.is_available()
        return  # the two libraries see different GPUs here; only minicnn's own answer is checked
    assert minicnn.accelerator.is_available() == torch.accelerator.is_available()
    assert minicnn.accelerator.device_count() == torch.accelerator.device_count()
    theirs = torch.accelerator.current_accelerator(check_available=True)
    mine = minicnn.accelerator.current_accelerator()
    assert (mine is None) == (theirs is None)
    if mine is not None:
        assert mine.type == theirs.type == "cuda"
    minicnn.accelerator.synchronize()


def test_the_mnist_example_idiom_picks_the_cpu_without_a_gpu():
    use_accel = minicnn.accelerator.is_available()
    device = minicnn.accelerator.current_accelerator() if use_accel else minicnn.device("cpu")
    assert device.type == ("cuda" if minicnn.cuda.is_available() else "cpu")
    assert minicnn.zeros(2).to(device).device == device
