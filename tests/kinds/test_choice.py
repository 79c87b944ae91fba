"""The best epoch of a run: the one its best checkpoint holds, whatever the monitor."""

from core.kinds.choice import best_record


def test_best_record_is_the_epoch_the_trainer_named_best():
    # A run monitoring dev AUROC: epoch 2 is best although epoch 3 has a lower loss.
    records = [
        {"epoch": 1, "val_loss": 0.9, "val_auroc": 0.5, "best_epoch": 1},
        {"epoch": 2, "val_loss": 0.8, "val_auroc": 0.8, "best_epoch": 2},
        {"epoch": 3, "val_loss": 0.7, "val_auroc": 0.6, "best_epoch": 2},
    ]
    assert best_record(records)["epoch"] == 2


def test_records_without_a_best_epoch_give_the_lowest_validation_loss():
    records = [{"epoch": 1, "val_loss": 0.9}, {"epoch": 2, "val_loss": 0.7}, {"epoch": 3}]
    assert best_record(records)["epoch"] == 2
    assert best_record([]) is None
    assert best_record([{"epoch": 1, "val_loss": None}]) is None
