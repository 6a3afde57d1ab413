"""File hashes: the whole file, or a part of it, without reading it into memory at once."""

from __future__ import annotations

import hashlib

from nabiz.checksums import BLOCK, file_sha256


def test_the_whole_file(tmp_path):
    data = bytes(range(256)) * (BLOCK // 100)  # more than one block
    (tmp_path / "f").write_bytes(data)
    assert file_sha256(tmp_path / "f") == hashlib.sha256(data).hexdigest()


def test_a_part_of_the_file(tmp_path):
    data = bytes(range(256)) * 9000
    (tmp_path / "f").write_bytes(data)
    assert file_sha256(tmp_path / "f", 1000, BLOCK + 7) == (
        hashlib.sha256(data[1000 : 1000 + BLOCK + 7]).hexdigest()
    )
    assert file_sha256(tmp_path / "f", len(data) - 10, 100) == (
        hashlib.sha256(data[-10:]).hexdigest()
    )
