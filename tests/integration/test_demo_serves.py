"""`aimsight demo` (what `make demo` runs) ends with a served API answering /v1/health."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_demo_serves_the_api_with_the_printed_key(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIMSIGHT")}
    env["COLUMNS"] = "200"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aimsight",
            "demo",
            "--workspace",
            str(tmp_path / "demo"),
            "--customers",
            "150",
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    output: list[str] = []
    try:
        key = None
        deadline = time.monotonic() + 120
        assert process.stdout is not None
        while key is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            output.append(line)
            match = re.search(r"admin key\s+(aims_[A-Za-z0-9_\-]+)", line)
            key = match.group(1) if match else None
        assert key, "no admin key printed:\n" + "".join(output)
        status = None
        while time.monotonic() < deadline:
            try:
                response = httpx.get(
                    f"http://127.0.0.1:{port}/v1/health",
                    headers={"Authorization": f"Bearer {key}"},
                    timeout=2,
                )
                status = response.status_code
                break
            except httpx.TransportError:
                time.sleep(0.3)
        assert status == 200
        unauthenticated = httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=2)
        assert unauthenticated.status_code == 401
    finally:
        process.terminate()
        process.wait(timeout=20)
        if process.stdout is not None:
            process.stdout.close()
