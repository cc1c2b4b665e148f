"""`make run`'s job: `casebridge demo` serves the hub at the printed URL, stops on Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port


@pytest.mark.slow
def test_demo_serves_hub_within_60_seconds_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEBRIDGE_")}
    env.update({"CASEBRIDGE_VAR_DIR": str(tmp_path / "var"), "CASEBRIDGE_PORT": str(port)})
    with (tmp_path / "demo.out").open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "casebridge.cli", "demo"],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.DEVNULL,
            text=True,
        )
    try:
        deadline = time.monotonic() + 60
        url = None
        while time.monotonic() < deadline and url is None:
            time.sleep(0.2)
            m = re.search(r"running at (http://\S+)", (tmp_path / "demo.out").read_text())
            url = m.group(1) if m else None
            assert proc.poll() is None, "demo exited early"
        assert url == f"http://127.0.0.1:{port}"
        assert httpx.get(f"{url}/healthz").status_code == 200
        assert httpx.get(f"{url}/api/docs").status_code == 200
        printed = (tmp_path / "demo.out").read_text()
        assert "police.handler" in printed
        assert "/api/v1/me" in printed
        tokens = json.loads((tmp_path / "var" / "demo-tokens.json").read_text())
        auth = {"Authorization": f"Bearer {tokens['police.handler']}"}
        cases = httpx.get(f"{url}/api/v1/cases", headers=auth).json()
        assert len(cases) == 2
        alerts = httpx.get(f"{url}/api/v1/alerts", headers=auth).json()
        assert any(a["kind"] == "custody_without_basis" for c in alerts for a in c["alerts"])
    finally:
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(20)
    assert rc == 0
    assert "stopped" in Path(tmp_path / "demo.out").read_text()
