import math

import pytest

from core.training.early_stopping import (
    EarlyStoppingState,
    early_stopping_decision,
    non_finite_reason,
    resumed_state,
)


def run(losses, patience, min_delta=0.0):
    """Feed a scripted loss sequence; return (stop epoch or None, reason, state)."""
    state = EarlyStoppingState()
    for epoch, loss in enumerate(losses, start=1):
        state, stop, reason = early_stopping_decision(state, epoch, loss, patience, min_delta)
        if stop:
            return epoch, reason, state
    return None, None, state


def test_stops_exactly_after_patience_epochs_without_improvement():
    epoch, reason, state = run([1.0, 0.8, 0.9, 0.85, 0.81, 0.7], patience=3)
    assert epoch == 5
    assert reason == "no improvement in validation loss for 3 epochs (best 0.8 at epoch 2)"
    assert state == EarlyStoppingState(best=0.8, best_epoch=2, counter=3)


def test_improvement_resets_the_counter():
    epoch, _, state = run([1.0, 1.1, 1.2, 0.5, 0.6, 0.7], patience=3)
    assert epoch is None
    assert state == EarlyStoppingState(best=0.5, best_epoch=4, counter=2)


def test_min_delta_ignores_tiny_improvements():
    epoch, _, state = run([1.0, 0.999, 0.998], patience=2, min_delta=0.01)
    assert epoch == 3
    assert state.best_epoch == 1


def test_zero_patience_never_stops():
    epoch, _, state = run([1.0] + [2.0] * 20, patience=0)
    assert epoch is None and state.counter == 20


@pytest.mark.parametrize(
    ("train_loss", "val_loss", "shown"),
    [
        (math.nan, 0.5, "train_loss=nan"),
        (0.5, math.inf, "val_loss=inf"),
        (0.5, -math.inf, "val_loss=-inf"),
    ],
)
def test_non_finite_loss_stops_at_once_and_keeps_the_state(train_loss, val_loss, shown):
    state = EarlyStoppingState(best=0.4, best_epoch=2, counter=1)
    new_state, stop, reason = early_stopping_decision(
        state, 3, val_loss, patience=10, train_loss=train_loss
    )
    assert stop and new_state == state
    assert reason.startswith("non-finite loss (") and shown in reason
    assert reason.endswith("at epoch 3")


def test_finite_losses_have_no_non_finite_reason():
    assert non_finite_reason(0.1, 0.2) is None
    assert non_finite_reason(None, 0.2) is None


def test_state_round_trips_through_a_dict():
    state = EarlyStoppingState(best=0.3, best_epoch=4, counter=2)
    assert EarlyStoppingState.from_dict(state.to_dict()) == state


def test_a_resumed_early_stopped_state_restarts_its_counter_and_keeps_the_best():
    stopped = EarlyStoppingState(best=0.8, best_epoch=2, counter=3)
    state, reason = resumed_state(stopped, saved_patience=3, patience=3)
    assert state == EarlyStoppingState(best=0.8, best_epoch=2, counter=0)
    assert "had early-stopped after 3 epochs" in reason and "patience 3" in reason


def test_a_resumed_interrupted_state_is_kept_exactly_unless_the_new_patience_is_reached():
    interrupted = EarlyStoppingState(best=0.8, best_epoch=2, counter=2)
    assert resumed_state(interrupted, saved_patience=5, patience=5) == (interrupted, None)
    assert resumed_state(interrupted, saved_patience=5, patience=9) == (interrupted, None)
    state, reason = resumed_state(interrupted, saved_patience=5, patience=2)
    assert state.counter == 0 and "already reach the new patience" in reason
    off = EarlyStoppingState(best=0.8, best_epoch=2, counter=7)  # patience 0: no stopping
    assert resumed_state(off, saved_patience=0, patience=0) == (off, None)


def test_a_score_to_maximise_improves_upwards_and_nan_is_no_improvement():
    state = EarlyStoppingState(best=-math.inf)
    for epoch, auroc in enumerate([0.6, 0.7, math.nan, 0.65, 0.69], start=1):
        state, stop, reason = early_stopping_decision(
            state, epoch, auroc, patience=3, mode="max", what="dev AUROC"
        )
    assert state == EarlyStoppingState(best=0.7, best_epoch=2, counter=3)
    assert stop and reason == "no improvement in dev AUROC for 3 epochs (best 0.7 at epoch 2)"


def test_a_state_saved_before_the_rename_still_loads():
    old = {"best_loss": 0.8, "best_epoch": 2, "counter": 1, "patience": 5, "min_delta": 0.0}
    assert EarlyStoppingState.from_dict(old) == EarlyStoppingState(0.8, 2, 1)
