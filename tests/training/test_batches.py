import numpy as np
import pytest
import torch

from core.training.batches import WindowBatches


def make(n=10, batch_size=4, shuffle=False, **kwargs):
    x = torch.arange(n * 2 * 3, dtype=torch.float32).reshape(n, 2, 3)  # (N, T, F)
    y = torch.arange(n) % 2
    pids = np.repeat(np.arange(900, 900 + n // 2), 2)
    return WindowBatches(x, y, pids, batch_size=batch_size, shuffle=shuffle, **kwargs)


def order_of(batches):
    return torch.cat([idx for _, _, idx in batches]).tolist()


def test_lengths_and_unshuffled_order():
    batches = make()
    assert batches.n_windows == 10
    assert len(batches) == 3
    sizes = [len(yb) for _, yb, _ in batches]
    assert sizes == [4, 4, 2]
    assert order_of(batches) == list(range(10))
    for xb, yb, idx in batches:
        assert xb.dtype == torch.float32 and yb.dtype == torch.int64
        assert torch.equal(xb, batches.x[idx]) and torch.equal(yb, batches.y[idx])


def test_drop_last_skips_the_short_batch():
    batches = make(drop_last=True)
    assert len(batches) == 2
    assert [len(yb) for _, yb, _ in batches] == [4, 4]


def test_shuffling_is_a_new_permutation_each_pass_and_repeats_with_the_seed():
    a, b = make(shuffle=True, seed=3), make(shuffle=True, seed=3)
    first, second = order_of(a), order_of(a)
    assert sorted(first) == list(range(10))
    assert first != second
    assert order_of(b) == first and order_of(b) == second


def test_generator_state_round_trip_replays_the_next_order():
    batches = make(shuffle=True, seed=1)
    order_of(batches)
    state = batches.state_dict()
    expected = order_of(batches)
    fresh = make(shuffle=True, seed=99)
    fresh.load_state_dict(state)
    assert order_of(fresh) == expected
    assert fresh.seed == 1


def test_data_is_kept_without_copy_and_ids_map_back():
    x = torch.zeros(6, 3)
    batches = WindowBatches(x, [0, 0, 1, 1, 0, 0], [1, 1, 2, 2, 3, 3], 4, shuffle=False)
    assert batches.x.data_ptr() == x.data_ptr()
    assert batches.participant_ids.dtype == np.int64
    _, _, idx = next(iter(batches))
    assert batches.participant_ids_of(idx).tolist() == [1, 1, 2, 2]


def test_tensor_participant_ids_and_dict_inputs():
    inputs = {"a": np.ones((4, 2)), "b": np.zeros((4, 1))}
    batches = WindowBatches(inputs, [0, 1, 0, 1], torch.tensor([5, 6, 7, 8]), 3, shuffle=True)
    xb, yb, idx = next(iter(batches))
    assert set(xb) == {"a", "b"} and xb["a"].shape == (3, 2) and xb["b"].dtype == torch.float32
    assert batches.participant_ids.tolist() == [5, 6, 7, 8]


def test_mismatched_lengths_and_bad_batch_size_are_rejected():
    with pytest.raises(ValueError, match="same length"):
        WindowBatches(torch.zeros(5, 2), [0] * 4, [1] * 5, 2, shuffle=False)
    with pytest.raises(ValueError, match="batch_size"):
        WindowBatches(torch.zeros(5, 2), [0] * 5, [1] * 5, 0, shuffle=False)
