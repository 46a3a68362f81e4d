"""The grader's caches of datasets and variant folders: keyed on the code that made them, pruned when stale."""

import os
import time

from autograde import variants


def test_a_new_code_version_gets_its_own_folder_and_stale_versions_go(tmp_path):
    parent = tmp_path / "variants" / "lab_x"
    old, recent = parent / "aaaaaaaaaaaa", parent / "bbbbbbbbbbbb"
    for folder in (old, recent):
        (folder / "1f").mkdir(parents=True)
    long_ago = time.time() - (variants.STALE_DAYS + 1) * 86400
    os.utime(old, (long_ago, long_ago))
    fresh = variants._fresh_folder(parent, "cccccccccccc")
    assert fresh == parent / "cccccccccccc"
    assert not old.exists(), "a version untouched for STALE_DAYS is removed"
    assert recent.exists(), "another grader may still use a recent version"


def test_the_variant_key_follows_the_plant_and_the_labs_kit(monkeypatch, tmp_path):
    variants._code_version.cache_clear()
    before = variants._code_version("lab_model_line")
    assert before != variants._code_version("lab_scenarios")
    real = variants._plant_files

    def with_a_changed_plant():
        changed = tmp_path / "line.py"
        changed.write_text("# the plant changed\n")
        return [*real(), changed]

    monkeypatch.setattr(variants, "_plant_files", with_a_changed_plant)
    variants._code_version.cache_clear()
    try:
        assert variants._code_version("lab_model_line") != before
    finally:
        variants._code_version.cache_clear()
