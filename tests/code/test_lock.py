"""The committed dvc.lock records the committed code and data, so `dvc repro` on a fresh clone rewrites
nothing in it and leaves `git status` clean (a stale lock passed every other test)."""
import hashlib
import subprocess

import yaml

from tests.conftest import REPO


def test_every_tracked_file_a_stage_depends_on_has_the_hash_dvc_lock_records():
    tracked = set(subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True)
                  .stdout.splitlines())
    lock = yaml.safe_load((REPO / "dvc.lock").read_text())
    stale = []
    for name, stage in lock["stages"].items():
        for dep in stage.get("deps", []):
            if dep["path"] in tracked and not dep["md5"].endswith(".dir"):
                actual = hashlib.md5((REPO / dep["path"]).read_bytes()).hexdigest()
                if actual != dep["md5"]:
                    stale.append(f"{name}: {dep['path']}")
    assert not stale, f"dvc.lock is stale (run `dvc repro` and commit dvc.lock): {stale}"
