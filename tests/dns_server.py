"""A real DNS server on loopback for the dns monitor tests: dnslib's, over UDP and TCP on
the same port, answering from a zone the test writes (and may change while it runs)."""

from __future__ import annotations

import socket

from dnslib import QTYPE, RCODE, RR
from dnslib.server import BaseResolver, DNSLogger, DNSServer


class _Zone(BaseResolver):
    """Answers from ``records``: NXDOMAIN for a name it does not hold, SERVFAIL for a name
    in ``failing``, an empty answer for a name it holds without records of the type asked."""

    def __init__(self):
        self.records: list[RR] = []
        self.failing: set[str] = set()
        self.queries = 0

    def resolve(self, request, handler):
        self.queries += 1
        reply = request.reply()
        name = request.q.qname
        asked = QTYPE[request.q.qtype]
        if str(name).lower() in self.failing:
            reply.header.rcode = RCODE.SERVFAIL
            return reply
        held = [rr for rr in self.records if rr.rname == name]
        if not held:
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        for rr in held:
            if QTYPE[rr.rtype] == asked:
                reply.add_answer(rr)
            elif QTYPE[rr.rtype] == "CNAME":  # follow the alias, as a resolver does
                reply.add_answer(rr)
                for target in self.records:
                    if target.rname == rr.rdata.label and QTYPE[target.rtype] == asked:
                        reply.add_answer(target)
        return reply


class DnsServer:
    """``with DnsServer("example.test. 60 A 192.0.2.10") as server:`` — ``server.resolver``
    is "127.0.0.1:port"; ``set_zone`` replaces the records."""

    def __init__(self, zone: str = ""):
        self.zone = _Zone()
        self.set_zone(zone)
        self._udp, self._tcp = self._bind_both()
        self.port = self._udp.server.server_address[1]
        self.resolver = f"127.0.0.1:{self.port}"

    def _bind_both(self) -> tuple[DNSServer, DNSServer]:
        """A free UDP port, and TCP on the same number: the number the kernel gives for UDP
        may be held by a TCP socket (a client's ephemeral port), so try again until both
        bind."""
        quiet = DNSLogger(logf=lambda *_: None)
        for _ in range(50):
            udp = DNSServer(self.zone, address="127.0.0.1", port=0, logger=quiet)
            port = udp.server.server_address[1]
            try:
                tcp = DNSServer(self.zone, address="127.0.0.1", port=port, tcp=True, logger=quiet)
            except OSError:
                udp.server.server_close()
                continue
            return udp, tcp
        raise RuntimeError("no port free for both UDP and TCP on 127.0.0.1")

    def set_zone(self, zone: str, failing: tuple[str, ...] = ()) -> None:
        self.zone.records = RR.fromZone(zone) if zone.strip() else []
        self.zone.failing = set(failing)

    def __enter__(self) -> DnsServer:
        self._udp.start_thread()
        self._tcp.start_thread()
        return self

    def __exit__(self, *exc) -> None:
        for server in (self._udp, self._tcp):
            server.stop()
            server.server.server_close()


class SilentResolver:
    """A UDP socket that never answers (a resolver that times out); ``received`` counts the
    packets it got, read when it closes."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.resolver = f"127.0.0.1:{self.port}"
        self.received = 0

    def __enter__(self) -> SilentResolver:
        return self

    def __exit__(self, *exc) -> None:
        while True:
            try:
                self.sock.recv(65535)
            except BlockingIOError:
                break
            self.received += 1
        self.sock.close()
