"""The upload sweeper: a browser session's uploads go once the session has ended."""

from __future__ import annotations

import gc

from core.data.upload import UploadFolder
from ui.common import UploadSweeper


def test_a_sessions_uploads_go_once_it_is_gone_longer_than_it_may_come_back(tmp_path):
    connected = {"a": True, "b": True}
    sweeper = UploadSweeper(lambda session: connected[session], grace_s=10.0)
    folders = {name: UploadFolder(tmp_path) for name in ("a1", "a2", "b1")}
    for name, folder in folders.items():
        (folder.path / "900_P.zip").write_bytes(b"interview")
        sweeper.track(name[0], folder)
    assert sweeper.sweep(now=0.0) == []
    connected["a"] = connected["b"] = False  # both drop their connection
    assert sweeper.sweep(now=100.0) == []  # they may come back for 10 s
    connected["b"] = True  # b reconnects in time
    assert sweeper.sweep(now=105.0) == []
    removed = sweeper.sweep(now=110.0)  # a has been gone 10 s: ended
    assert sorted(removed) == sorted([folders["a1"].path, folders["a2"].path])
    assert not folders["a1"].path.exists() and not folders["a2"].path.exists()
    assert (folders["b1"].path / "900_P.zip").exists()
    connected["b"] = False
    assert sweeper.sweep(now=200.0) == [] and sweeper.sweep(now=211.0) == [folders["b1"].path]
    assert list(tmp_path.iterdir()) == []


def test_a_folder_whose_session_state_is_released_first_goes_by_itself(tmp_path):
    sweeper = UploadSweeper(lambda session: False, grace_s=0.0)
    folder = UploadFolder(tmp_path)
    sweeper.track("gone", folder)
    path = folder.path
    del folder  # the session's state is released before the sweeper comes by
    gc.collect()
    assert not path.exists() and sweeper.sweep(now=1.0) == []
