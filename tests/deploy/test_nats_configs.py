"""Every shipped NATS configuration is accepted by the nats-server binary we run."""

import subprocess
from pathlib import Path

import pytest

from slrt.natsserver import nats_server_binary

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "deploy" / "nats").glob("*.conf"))


def test_configs_are_shipped() -> None:
    assert {c.name for c in CONFIGS} >= {"single.conf", "cluster-1.conf"}


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.name)
def test_nats_server_accepts(config: Path) -> None:
    result = subprocess.run(
        [nats_server_binary(), "-t", "-c", str(config)], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is valid" in result.stdout + result.stderr
