"""`slrt user-add` creates users in the service they work in, liaisons with their agency."""

import io
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from services.verval.proposals import household_key
from slrt import cli

PASSWORD = "rahasia-kuat-1"


def _databases(tmp_path: Path) -> dict[str, str]:
    return {
        f"SLRT_{service.upper()}_DATABASE_URL": f"sqlite:///{tmp_path}/{service}.db"
        for service in ("intake", "referral", "verval")
    }


# (exit code, what it wrote to stderr) of `slrt user-add ARGS` with a password typed in.
UserAdd = Callable[..., tuple[int, str]]


@pytest.fixture
def user_add(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> UserAdd:
    """The command's own entry point, in this process: each start of a new one costs seconds
    on a slow machine. The first test below runs it as a user does."""
    for name, url in _databases(tmp_path).items():
        monkeypatch.setenv(name, url)

    def run(*args: str, password: str = PASSWORD) -> tuple[int, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(password + "\n"))
        code = cli.main(["user-add", *args])
        return code, capsys.readouterr().err

    return run


def test_a_liaison_is_created_in_referral_with_their_agency(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable, "-m", "slrt.cli", "user-add", "rina", "--full-name", "Rina (BPJS)",
            "--role", "liaison", "--area", "33.17", "--service", "referral",
            "--agency", "bpjs_dinkes",
        ],
        input=PASSWORD + "\n", capture_output=True, text=True,
        env=os.environ | _databases(tmp_path), timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(tmp_path / "referral.db") as db:
        row = db.execute("SELECT role, agency FROM user_account WHERE username = 'rina'").fetchone()
    assert row == ("liaison", "bpjs_dinkes")


def test_a_village_head_in_verval_keeps_a_digest_of_their_kk_not_the_kk(
    tmp_path: Path, user_add: UserAdd
) -> None:
    kk = "3317010101200001"
    code, err = user_add(
        "kades", "--full-name", "Kepala Desa", "--role", "village_head",
        "--area", "33.17.01.2001", "--service", "verval", "--kk", kk,
    )  # fmt: skip
    assert code == 0, err
    with sqlite3.connect(tmp_path / "verval.db") as db:
        (key,) = db.execute("SELECT household_key FROM user_account").fetchone()
    assert key == household_key(kk) and kk not in key
    code, err = user_add(
        "kaur", "--full-name", "Kaur", "--role", "coordinator",
        "--area", "33.17.01.2001", "--service", "verval", "--kk", "12345",
    )  # fmt: skip
    assert code == 2 and "16 angka" in err


def test_refusals_are_explained(user_add: UserAdd) -> None:
    code, err = user_add(
        "rina", "--full-name", "Rina", "--role", "liaison", "--area", "33.17",
        "--service", "referral",
    )  # fmt: skip
    assert code == 2 and "instansi" in err
    code, err = user_add("budi", "--full-name", "Budi", "--role", "front_office", "--area", "33.17")
    assert code == 2 and "tingkat wilayah" in err
    code, err = user_add(
        "budi", "--full-name", "Budi", "--role", "front_office",
        "--area", "33.17.01.2001", password="pendek",
    )  # fmt: skip
    assert code == 2 and "minimal 8" in err
