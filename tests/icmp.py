"""ICMP for the ping monitor tests, loopback only: a canary that counts the echo requests
sent to a loopback address, and a way to run Python in a network namespace of its own, where
the ICMP settings of this host can be changed without touching the host's own."""

from __future__ import annotations

import json
import os
import select
import shutil
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ECHO_REQUEST = {4: 8, 6: 128}  # the ICMP type of an echo request, by IP version


class EchoCanary:
    """Counts the echo requests to ``address`` (127.0.0.1 or ::1) while open.

    A raw ICMP socket is handed a copy of every ICMP packet the host receives before the
    kernel answers it, so an echo request that reaches the address cannot slip past. Needs
    a raw socket (root or CAP_NET_RAW).
    """

    def __init__(self, address: str):
        self.address = address
        self.version = 6 if ":" in address else 4
        self.requests = 0

    def __enter__(self) -> EchoCanary:
        family, protocol = (
            (socket.AF_INET6, socket.IPPROTO_ICMPV6)
            if self.version == 6
            else (socket.AF_INET, socket.IPPROTO_ICMP)
        )
        self._sock = socket.socket(family, socket.SOCK_RAW, protocol)
        self._sock.setblocking(False)
        return self

    def count(self) -> int:
        """Echo requests to the address received so far (the packets queued are read now;
        loopback delivers them before the sender's call returns)."""
        while select.select([self._sock], [], [], 0.05)[0]:
            packet, source = self._sock.recvfrom(65535)
            if self.version == 4:  # an IPv4 raw socket reads the IP header too
                header = (packet[0] & 0x0F) * 4
                icmp_type, destination = packet[header], socket.inet_ntoa(packet[16:20])
            else:  # on loopback the source and the destination are both ::1
                icmp_type, destination = packet[0], source[0]
            if icmp_type == ECHO_REQUEST[self.version] and destination == self.address:
                self.requests += 1
        return self.requests

    def __exit__(self, *exc) -> None:
        self.count()
        self._sock.close()


def isolated_unavailable_reason() -> str | None:
    """Why :func:`run_isolated` cannot work here, or None."""
    missing = [tool for tool in ("unshare", "setpriv", "ip") if shutil.which(tool) is None]
    if missing:
        return f"a network namespace of its own needs {', '.join(missing)} (util-linux, iproute2)"
    probe = subprocess.run(["unshare", "--net", "true"], capture_output=True, text=True)
    if probe.returncode:
        return (
            "a network namespace of its own needs unshare with CAP_SYS_ADMIN: "
            f"{probe.stderr.strip()}"
        )
    return None


def run_isolated(code: str, sysctls: dict[str, str], raw_sockets: bool = True) -> dict:
    """Run ``code`` (Python, which prints one JSON object last) in a new network namespace
    with only a loopback interface, up, and the ``sysctls`` given (names as ``net.ipv4.x``)
    set there, and nowhere else; without CAP_NET_RAW (so without raw sockets, as a user
    other than root) unless ``raw_sockets``. Returns the JSON object."""
    settings = [
        f"echo '{value}' > /proc/sys/{name.replace('.', '/')}" for name, value in sysctls.items()
    ]
    runner = [sys.executable, "-c", code]
    if not raw_sockets:
        runner = ["setpriv", "--inh-caps=-net_raw", "--bounding-set=-net_raw", *runner]
    script = " && ".join(["ip link set lo up", *settings, 'exec "$@"'])
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": "/tmp"}
    done = subprocess.run(
        ["unshare", "--net", "sh", "-c", script, "sh", *runner],
        capture_output=True,
        text=True,
        cwd="/tmp",
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])
