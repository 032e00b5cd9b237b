"""`slrt user-add` creates users in the service they work in, liaisons with their agency."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from services.verval.proposals import household_key


def _user_add(
    tmp_path: Path, *args: str, password: str = "rahasia-kuat-1"
) -> subprocess.CompletedProcess[str]:
    env = os.environ | {
        "SLRT_INTAKE_DATABASE_URL": f"sqlite:///{tmp_path}/intake.db",
        "SLRT_REFERRAL_DATABASE_URL": f"sqlite:///{tmp_path}/referral.db",
        "SLRT_VERVAL_DATABASE_URL": f"sqlite:///{tmp_path}/verval.db",
    }
    return subprocess.run(
        [sys.executable, "-m", "slrt.cli", "user-add", *args],
        input=password + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_a_liaison_is_created_in_referral_with_their_agency(tmp_path: Path) -> None:
    done = _user_add(
        tmp_path, "rina", "--full-name", "Rina (BPJS)", "--role", "liaison", "--area", "33.17",
        "--service", "referral", "--agency", "bpjs_dinkes",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(tmp_path / "referral.db") as db:
        row = db.execute("SELECT role, agency FROM user_account WHERE username = 'rina'").fetchone()
    assert row == ("liaison", "bpjs_dinkes")


def test_a_village_head_in_verval_keeps_a_digest_of_their_kk_not_the_kk(tmp_path: Path) -> None:
    kk = "3317010101200001"
    done = _user_add(
        tmp_path, "kades", "--full-name", "Kepala Desa", "--role", "village_head",
        "--area", "33.17.01.2001", "--service", "verval", "--kk", kk,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(tmp_path / "verval.db") as db:
        (key,) = db.execute("SELECT household_key FROM user_account").fetchone()
    assert key == household_key(kk) and kk not in key
    bad = _user_add(
        tmp_path, "kaur", "--full-name", "Kaur", "--role", "coordinator",
        "--area", "33.17.01.2001", "--service", "verval", "--kk", "12345",
    )  # fmt: skip
    assert bad.returncode == 2 and "16 angka" in bad.stderr


def test_refusals_are_explained(tmp_path: Path) -> None:
    no_agency = _user_add(
        tmp_path, "rina", "--full-name", "Rina", "--role", "liaison", "--area", "33.17",
        "--service", "referral",
    )  # fmt: skip
    assert no_agency.returncode == 2 and "instansi" in no_agency.stderr
    wrong_level = _user_add(
        tmp_path, "budi", "--full-name", "Budi", "--role", "front_office", "--area", "33.17"
    )
    assert wrong_level.returncode == 2 and "tingkat wilayah" in wrong_level.stderr
    short = _user_add(
        tmp_path, "budi", "--full-name", "Budi", "--role", "front_office",
        "--area", "33.17.01.2001", password="pendek",
    )  # fmt: skip
    assert short.returncode == 2 and "minimal 8" in short.stderr
