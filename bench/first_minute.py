"""A newcomer's first minute: fresh clone → `make run` → the first answer of /healthz.

Clones this checkout's HEAD into a temporary folder, runs `make run` there with pip's cache
off (a new machine has none), and polls /healthz once every 0.2 s. Prints the seconds to the
first 200, the machine's load average at the start, how many console lines came before the
banner and how many of them warn. Then Ctrl-C, as a person would, and the seconds it took.

    .venv/bin/python bench/first_minute.py
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._common import free_port  # noqa: E402

LIMIT_SEC = 300


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="upcron-first-minute-") as tmp:
        clone = Path(tmp) / "upcron"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("UPCRON_", "VIRTUAL_"))}
        env.update(UPCRON_PORT=str(port), PIP_NO_CACHE_DIR="1")
        load = os.getloadavg()
        started = time.monotonic()
        make = subprocess.Popen(
            ["make", "--no-print-directory", "run", f"PYTHON={sys.base_prefix}/bin/python3"],
            cwd=clone,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        lines: list[str] = []
        threading.Thread(target=lambda: lines.extend(make.stdout), daemon=True).start()
        answered = None
        try:
            while time.monotonic() - started < LIMIT_SEC and make.poll() is None:
                try:
                    if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).ok:
                        answered = time.monotonic() - started
                        break
                except requests.RequestException:
                    pass
                time.sleep(0.2)
            time.sleep(5)  # idle, as a person reading the screen
            before_banner = next(
                (i for i, line in enumerate(lines) if "Upcron is running at" in line), None
            )
        finally:
            asked = time.monotonic()
            os.killpg(make.pid, signal.SIGINT)
            make.wait(60)
            stopped = time.monotonic() - asked
        warnings = [line for line in lines[: before_banner or len(lines)] if "warn" in line.lower()]
        print(f"load average at start:       {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        if answered is None:
            print("make run never answered /healthz:")
            print("".join(lines[-40:]))
            sys.exit(1)
        print(f"fresh clone to first answer: {answered:.1f} s")
        print(f"console lines before banner: {before_banner}")
        print(f"warning lines:               {len(warnings)}")
        for line in warnings:
            print(f"  {line.rstrip()}")
        print(f"Ctrl-C to everything gone:   {stopped:.1f} s")
        print("last lines on screen before Ctrl-C:")
        for line in lines[before_banner : before_banner + 4] if before_banner is not None else []:
            print(f"  {line.rstrip()}")


if __name__ == "__main__":
    main()
