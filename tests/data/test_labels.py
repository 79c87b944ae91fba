"""The four label files, with the real corpus's spellings and defects."""

from __future__ import annotations

from core.data import formats
from core.data.labels import read_labels


def test_train_dev_and_full_test_labels(tmp_path, daic):
    daic.labels(
        tmp_path,
        train=[daic.label_row(300, 0, 2, gender=1), daic.label_row(301, 1, 12, gender=0)],
        dev=[daic.label_row(302, 1, 15)],
        test=[(303, 1, 11, 0), (304, 0, 1, 1)],
    )
    labels, problems = read_labels(tmp_path)
    assert problems == []
    assert list(labels) == [300, 301, 302, 303, 304]
    assert [labels[p].split for p in labels] == ["train", "train", "dev", "test", "test"]
    assert (labels[301].phq8_binary, labels[301].phq8_score, labels[301].gender) == (1, 12, 0)
    assert labels[301].items["PHQ8_NoInterest"] == 3
    # full_test_split.csv spells them PHQ_Binary / PHQ_Score
    assert (labels[303].phq8_binary, labels[303].phq8_score, labels[303].gender) == (1, 11, 0)
    assert all(not labels[p].problems for p in labels)


def test_test_ids_alone_give_split_and_gender_only(tmp_path, daic):
    daic.labels(
        tmp_path, train=[daic.label_row(300, 0, 2)], dev=[], test=[(303, 1, 11, 0)], full_test=False
    )
    labels, problems = read_labels(tmp_path)
    assert problems == []  # full_test_split.csv is optional when the ID file exists
    assert labels[303].split == "test"
    assert (labels[303].phq8_binary, labels[303].phq8_score, labels[303].gender) == (None, None, 0)


def test_lower_and_upper_case_id_columns_in_the_test_split(tmp_path, daic):
    for column in ("participant_ID", "Participant_ID"):
        root = tmp_path / column
        daic.labels(
            root, train=[], dev=[], test=[(303, 0, 1, 1)], full_test=False, test_id_column=column
        )
        labels, _ = read_labels(root)
        assert labels[303].split == "test"
    header = (tmp_path / "participant_ID" / formats.TEST_IDS).read_text().splitlines()[0]
    assert header == "participant_ID,Gender"


def test_missing_label_files_are_reported(tmp_path, daic):
    daic.labels(tmp_path, dev=[daic.label_row(302, 0, 3)])
    labels, problems = read_labels(tmp_path)
    assert list(labels) == [302]
    assert any(formats.TRAIN_LABELS in p and "missing" in p for p in problems)
    assert any(formats.TEST_LABELS_FULL in p and "missing" in p for p in problems)


def test_score_that_contradicts_the_binary_label_is_kept_and_reported(tmp_path, daic):
    daic.labels(tmp_path, train=[daic.label_row(409, 0, 10)], dev=[], test=[])
    labels, _ = read_labels(tmp_path)
    assert (labels[409].phq8_binary, labels[409].phq8_score) == (0, 10)  # as the file says
    assert any("PHQ8_Score 10 implies PHQ8_Binary 1" in p for p in labels[409].problems)


def test_blank_item_is_reported(tmp_path, daic):
    row = daic.label_row(319, 1, 13, items=[3, 3, 3, 2, 2, "", 0, 0])
    daic.labels(tmp_path, train=[row], dev=[], test=[])
    labels, _ = read_labels(tmp_path)
    assert labels[319].items["PHQ8_Failure"] is None
    assert labels[319].phq8_score == 13
    assert any("PHQ8_Failure is blank" in p for p in labels[319].problems)


def test_items_that_do_not_sum_to_the_score(tmp_path, daic):
    daic.labels(tmp_path, train=[daic.label_row(300, 0, 5, items=[0] * 8)], dev=[], test=[])
    labels, _ = read_labels(tmp_path)
    assert any("items sum to 0 but PHQ8_Score is 5" in p for p in labels[300].problems)


def test_participant_in_two_splits_is_reported_and_kept_once(tmp_path, daic):
    daic.labels(
        tmp_path,
        train=[daic.label_row(300, 0, 2)],
        dev=[daic.label_row(300, 1, 12), daic.label_row(302, 0, 3)],
        test=[],
    )
    labels, problems = read_labels(tmp_path)
    assert labels[300].split == "train" and labels[300].phq8_binary == 0
    assert any("300 is listed in both the train and the dev split" in p for p in problems)


def test_participant_listed_twice_in_one_file_is_reported(tmp_path, daic):
    daic.labels(
        tmp_path, train=[daic.label_row(300, 0, 2), daic.label_row(300, 1, 12)], dev=[], test=[]
    )
    labels, problems = read_labels(tmp_path)
    assert labels[300].phq8_binary == 0
    assert any("participant 300 is listed twice" in p for p in problems)


def test_short_rows_and_bad_ids_do_not_crash(tmp_path, daic):
    daic.labels(tmp_path, train=["300,1", "abc,0,2,1,0,0,0,0,0,0,0,0"], dev=[], test=[])
    labels, problems = read_labels(tmp_path)
    assert labels[300].phq8_binary == 1
    assert any("PHQ8_Score is blank" in p for p in labels[300].problems)
    assert any("participant ID 'abc' is not a number" in p for p in problems)


def test_label_file_without_id_column_is_reported(tmp_path, daic):
    daic.labels(tmp_path, dev=[], test=[])
    (tmp_path / formats.TRAIN_LABELS).write_text("who,what\n300,1\n")
    labels, problems = read_labels(tmp_path)
    assert labels == {}
    assert any(p.startswith(formats.TRAIN_LABELS) and "no participant ID" in p for p in problems)
