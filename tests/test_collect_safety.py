"""Nothing outside the download is read, and one broken file never stops the rest.

A learner's "notebook" may be a link to the course's solutions, a hard link, a FIFO, or a zip member whose path
leaves the download; a member may be corrupt, a bomb, or the zip cut short. Each is listed with why and the
others are placed.
"""

import os
import struct
import unicodedata
import zipfile
from zoneinfo import ZoneInfo

import pytest
from grading_fixtures import HIDDEN_MARKER, LAB
from test_collect_corpus import NB, landed, notebook, reasons, write_tree, write_zip

from autograde.collect import collect, download
from autograde.errors import CollectError


def _no_solution_in_submitted(course) -> None:
    for path in course.submitted.rglob("*"):
        if path.is_file():
            assert HIDDEN_MARKER not in path.read_text(errors="replace"), path


def test_links_and_special_files_in_a_folder_are_listed_never_followed(course_copy, tmp_path):
    outside = tmp_path / "outside.ipynb"
    outside.write_bytes(notebook("outside the download"))
    root = write_tree(tmp_path / "dl", {f"eve/{NB}": notebook("eve")})
    solution = course_copy.source / LAB / NB
    (root / "ada").mkdir()
    (root / "ada" / NB).symlink_to(solution)
    (root / "bob").symlink_to(course_copy.source / LAB, target_is_directory=True)
    (root / "carol").mkdir()
    os.link(outside, root / "carol" / NB)
    (root / "dan").mkdir()
    os.mkfifo(root / "dan" / NB)
    result = collect(source=root, course_dir=course_copy.root)
    assert landed(course_copy) == {f"eve/{LAB}/{NB}": "eve"}
    skipped = reasons(result.skipped)
    assert skipped[f"ada/{NB}"].startswith("a symbolic link: not followed")
    assert skipped["bob/"].startswith("a symbolic link: not followed")
    assert skipped[f"carol/{NB}"].startswith("a hard link")
    assert skipped[f"dan/{NB}"] == "a device file, FIFO or socket: not read"
    _no_solution_in_submitted(course_copy)


def test_a_file_swapped_for_a_link_after_listing_is_not_read(course_copy, tmp_path):
    root = write_tree(tmp_path / "dl", {f"ada/{NB}": notebook("ada")})
    with download.open_download(root, None) as opened:
        (entry,) = opened.entries
        (root / "ada" / NB).unlink()
        (root / "ada" / NB).symlink_to(course_copy.source / LAB / NB)
        with pytest.raises(download.Unreadable):
            entry.read()


def test_zip_members_leaving_the_download_or_linking_are_skipped(course_copy, tmp_path):
    path = write_zip(tmp_path / "evil.zip", {f"../evil/{NB}": notebook("up"), f"/abs/{NB}": notebook("absolute"),
                                             f"C:/x/{NB}": notebook("drive"), f"ada/{NB}": notebook("ada")})
    with zipfile.ZipFile(path, "a") as archive:
        link = zipfile.ZipInfo(f"bob/{NB}")
        link.create_system, link.external_attr = 3, 0o120777 << 16
        archive.writestr(link, str(course_copy.source / LAB / NB))
    result = collect(source=path, course_dir=course_copy.root)
    assert landed(course_copy) == {f"ada/{LAB}/{NB}": "ada"}
    skipped = reasons(result.skipped)
    for name in (f"../evil/{NB}", f"/abs/{NB}", f"C:/x/{NB}"):
        assert skipped[name] == "a path that leads outside the download (zip slip): not read"
    assert skipped[f"bob/{NB}"].startswith("a symbolic link")
    assert not (course_copy.root.parent / "evil").exists()
    _no_solution_in_submitted(course_copy)


def _corrupt(path, member: str) -> None:
    """Damage the compressed data of `member` in the zip at `path`."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
    data = bytearray(path.read_bytes())
    name_length, extra_length = struct.unpack_from("<HH", data, info.header_offset + 26)
    start = info.header_offset + 30 + name_length + extra_length
    data[start:start + 8] = b"\xff" * 8
    path.write_bytes(bytes(data))


def test_a_corrupt_member_is_refused_alone_and_the_others_placed(course_copy, tmp_path):
    path = write_zip(tmp_path / "dl.zip", {f"ada/{NB}": notebook("ada" * 200), f"bob/{NB}": notebook("bob" * 200),
                                           f"carol/{NB}": notebook("carol")})
    _corrupt(path, f"bob/{NB}")
    result = collect(source=path, course_dir=course_copy.root)
    assert landed(course_copy) == {f"ada/{LAB}/{NB}": "ada" * 200, f"carol/{LAB}/{NB}": "carol"}
    (reason,) = [reason for where, reason in result.refused if where == f"bob/{NB}"]
    assert reason.startswith(f"{LAB} by bob (known by name only): corrupt in the zip")


def test_a_truncated_zip_says_the_download_did_not_finish(course_copy, tmp_path):
    path = write_zip(tmp_path / "dl.zip", {f"ada/{NB}": notebook("ada"), f"bob/{NB}": notebook("bob")})
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CollectError, match=r"truncated.*download it again"):
        collect(source=path, course_dir=course_copy.root)


def test_a_source_that_is_neither_folder_nor_zip_is_refused(course_copy, tmp_path):
    (tmp_path / "x.txt").write_text("no")
    with pytest.raises(CollectError, match="neither a folder nor a zip"):
        collect(source=tmp_path / "x.txt", course_dir=course_copy.root)


def test_a_zip_bomb_is_read_no_further_than_the_limit(course_copy, tmp_path, monkeypatch):
    monkeypatch.setattr(download, "MAX_FILE_BYTES", 10_000)
    bomb = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5, "x": "' + b"0" * 5_000_000 + b'"}'
    path = write_zip(tmp_path / "dl.zip", {f"ada/{NB}": bomb, f"bob/{NB}": notebook("bob")})
    result = collect(source=path, course_dir=course_copy.root)
    assert landed(course_copy) == {f"bob/{LAB}/{NB}": "bob"}
    assert "larger than" in reasons(result.refused)[f"ada/{NB}"]


def test_a_zip_bomb_lying_about_its_size_is_still_cut(tmp_path, monkeypatch):
    monkeypatch.setattr(download, "MAX_FILE_BYTES", 10_000)
    budget = download._Budget()
    with (tmp_path / "big").open("wb+") as stream:
        stream.write(b"0" * 50_000)
        stream.seek(0)
        with pytest.raises(download.Unreadable, match="larger than"):
            budget.read(stream, declared=10)


def test_the_whole_download_has_a_budget(course_copy, tmp_path, monkeypatch):
    monkeypatch.setattr(download, "MAX_TOTAL_BYTES", len(notebook("ada")) + 10)
    path = write_zip(tmp_path / "dl.zip", {f"ada/{NB}": notebook("ada"), f"bob/{NB}": notebook("bob")})
    result = collect(source=path, course_dir=course_copy.root)
    assert landed(course_copy) == {f"ada/{LAB}/{NB}": "ada"}
    assert "already released" in reasons(result.refused)[f"bob/{NB}"]


def test_a_mac_zip_with_unflagged_decomposed_utf8_names(course_copy, tmp_path):
    real = unicodedata.normalize("NFD", f"Éloïse Dupré/{NB}").encode()
    placeholder = b"x" * len(real)
    path = write_zip(tmp_path / "mac.zip", {placeholder.decode(): notebook("eloise"),
                                            f"Zoé Roux/{NB}": notebook("zoe")})
    path.write_bytes(path.read_bytes().replace(placeholder, real))
    collect(source=path, course_dir=course_copy.root)
    assert landed(course_copy) == {f"eloise_dupre/{LAB}/{NB}": "eloise", f"zoe_roux/{LAB}/{NB}": "zoe"}


def test_zip_times_are_the_entries_extended_utc_time_else_their_local_date(tmp_path):
    path = write_zip(tmp_path / "dl.zip", {"a.ipynb": "{}"}, when=(2024, 3, 1, 10, 0, 0))
    with zipfile.ZipFile(path, "a") as archive:
        stamped = zipfile.ZipInfo("b.ipynb", (2024, 3, 1, 10, 0, 0))
        stamped.extra = struct.pack("<HHBI", 0x5455, 5, 1, 1709290800)  # 2024-03-01 11:00:00 UTC
        archive.writestr(stamped, "{}")
    with download.open_download(path, ZoneInfo("Europe/Paris")) as opened:
        moments = {entry.name: entry.moment.isoformat() for entry in opened.entries}
    assert moments == {"a.ipynb": "2024-03-01T09:00:00+00:00", "b.ipynb": "2024-03-01T11:00:00+00:00"}
