"""Real network targets on the loopback interface, for tests that make outbound requests.

- :class:`TargetServer`: a threaded HTTP(S) server on 127.0.0.1 (or ::1) and a free port, whose
  answers are configured per path (status, body, headers, redirect, delay, stall, trickle) and
  which records every request it receives.
- :class:`SilentListener`: accepts TCP connections, counts them and never sends a byte. As a
  canary it proves a refused target was never connected to; as a target it is a server that
  accepts and never answers, in plain HTTP and TLS alike.
- :func:`closed_port`: a port on 127.0.0.1 where nothing listens.
- :func:`ca_name`: a ``trustme.CA``'s name, as its certificates name their issuer.
- :class:`MailServer`: a real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message,
  optionally with STARTTLS or implicit TLS and required authentication.

Nothing here connects anywhere; the code under test connects to these.

    with TargetServer() as server:
        url = server.route("/health", body="ok", headers={"X-Version": "1"})
        result = probe(ProbeRequest(url))
        assert server.requests[0].method == "GET"

For HTTPS, give the server a certificate from a ``trustme.CA`` and trust that CA in the client:

    ca = trustme.CA()
    with TargetServer(certificate=ca.issue_cert("localhost")) as server:
        ...  # https://localhost:{server.port}/ verifies against ca.cert_pem
"""

from __future__ import annotations

import email
import email.policy
import socket
import socketserver
import ssl
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.client import responses
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509

# How long a handler waits on a silent client before giving up, so closing never hangs.
_CLIENT_TIMEOUT = 5


@dataclass(frozen=True)
class Route:
    """How the server answers one path.

    Timing options wait on the server's closing, so closing the server ends them at once.
    """

    status: int | None = None  # default: 302 with a redirect, else 200
    body: bytes | str = b""  # a str is sent as UTF-8
    # Added to or replacing Content-Length, Connection and Location; None removes one.
    headers: Mapping[str, str | None] = field(default_factory=dict)
    redirect: str | None = None  # sent as Location
    delay: float = 0.0  # seconds before sending anything
    stall: float = 0.0  # seconds between the headers and the body
    trickle: float = 0.0  # if set: the body one byte at a time, this many seconds apart
    trickle_headers: bool = False  # trickle the status line and headers too


class _Sequence:
    def __init__(self, routes: list[Route]):
        self._routes = routes
        self._lock = threading.Lock()

    def next(self) -> Route:
        with self._lock:
            return self._routes.pop(0) if len(self._routes) > 1 else self._routes[0]


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    target: str  # path and query, as sent
    headers: dict[str, str]  # lower-case names
    body: bytes
    received_at: float  # time.time() as the request's head and body had arrived


class TargetServer:
    """A threaded HTTP server on the loopback interface; HTTPS when given a certificate.

    Paths without a route answer 404. Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, host: str = "127.0.0.1", certificate: trustme.LeafCert | None = None):
        self.routes: dict[str, Route] = {}
        self.requests: list[ReceivedRequest] = []
        self.server_names: list[str | None] = []  # the SNI of each TLS handshake
        tls = None
        if certificate is not None:
            tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            certificate.configure_cert(tls)
            tls.sni_callback = lambda _socket, name, _context: self.server_names.append(name)
        self.scheme = "https" if tls else "http"
        self._server = _Server(host, tls, self)
        self.host = host
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def url(self, path: str = "/", host: str | None = None) -> str:
        """The URL of ``path`` on this server, by its address or by ``host`` (``localhost``)."""
        host = host or self.host
        if ":" in host:
            host = f"[{host}]"
        return f"{self.scheme}://{host}:{self.port}{path}"

    def route(self, path: str, **options) -> str:
        """Answer ``path`` as :class:`Route` ``options`` say; returns the path's URL."""
        self.routes[path] = Route(**options)
        return self.url(path)

    def route_sequence(self, path: str, *answers: dict) -> str:
        """Answer the requests to ``path`` with each of ``answers`` (Route options) in turn,
        the last one for every request after that; returns the path's URL."""
        self.routes[path] = _Sequence([Route(**options) for options in answers])
        return self.url(path)

    def close(self) -> None:
        self._server.closing.set()
        self._server.shutdown()
        self._server.server_close()  # waits for the handlers, which the closing has woken
        self._thread.join()

    def __enter__(self) -> TargetServer:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins the handlers, so no thread outlives a test

    def __init__(self, host: str, tls: ssl.SSLContext | None, target: TargetServer):
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.tls = tls
        self.target = target
        self.closing = threading.Event()
        super().__init__((host, 0), _Handler)

    def server_bind(self):
        # HTTPServer would look up the address's host name here: a DNS query tests don't need.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def finish_request(self, request, client_address):
        request.settimeout(_CLIENT_TIMEOUT)
        if self.tls is None:
            self.RequestHandlerClass(request, client_address, self)
            return
        try:
            request = self.tls.wrap_socket(request, server_side=True)
        except OSError:
            return  # the client gave up on the handshake, which some tests are about
        with request:  # socketserver closes the plain socket, not this wrapper
            self.RequestHandlerClass(request, client_address, self)

    def handle_error(self, request, client_address):
        if not isinstance(sys.exception(), OSError):  # a client hanging up is no error here
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = _CLIENT_TIMEOUT
    server: _Server

    def log_message(self, format, *args):
        pass  # tests read server.requests instead

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.server.target.requests.append(
            ReceivedRequest(
                method=self.command,
                target=self.path,
                headers={name.lower(): value for name, value in self.headers.items()},
                body=self.rfile.read(length),
                received_at=time.time(),
            )
        )
        self.close_connection = True
        route = self.server.target.routes.get(urlsplit(self.path).path, Route(status=404))
        if isinstance(route, _Sequence):
            route = route.next()
        head, body = self._response(route)
        closing = self.server.closing
        if route.delay and closing.wait(route.delay):
            return
        if not self._send(head, route.trickle if route.trickle_headers else 0):
            return
        if route.stall and closing.wait(route.stall):
            return
        self._send(body, route.trickle)

    def _send(self, data: bytes, trickle: float) -> bool:
        """Write ``data``, a byte every ``trickle`` seconds if set; False if closed meanwhile."""
        if not trickle:
            self.wfile.write(data)
            return True
        for i in range(len(data)):
            self.wfile.write(data[i : i + 1])
            if self.server.closing.wait(trickle):
                return False
        return True

    def _response(self, route: Route) -> tuple[bytes, bytes]:
        body = route.body.encode() if isinstance(route.body, str) else route.body
        status = route.status or (302 if route.redirect else 200)
        headers = {"Content-Length": str(len(body)), "Connection": "close"}
        if route.redirect:
            headers["Location"] = route.redirect
        headers.update(route.headers)
        lines = [f"HTTP/1.1 {status} {responses.get(status, 'Unknown')}"]
        lines += [f"{name}: {value}" for name, value in headers.items() if value is not None]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return head, b"" if self.command == "HEAD" else body

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _serve


def ca_name(ca: trustme.CA) -> str:
    """The CA's name as the certificates it issues name their issuer (RFC 4514)."""
    return x509.load_pem_x509_certificate(ca.cert_pem.bytes()).subject.rfc4514_string()


class SilentListener:
    """Accepts TCP connections on 127.0.0.1 (or ``host``), counts them, and never sends a byte.

    Connections are held open until :meth:`close`, which also counts any still waiting in the
    backlog, so ``accepted`` read after closing is exact.
    """

    def __init__(self, host: str = "127.0.0.1"):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.create_server((host, 0), family=family)
        self.host = host
        self._sock.settimeout(0.05)
        self.port = self._sock.getsockname()[1]
        self._held: list[socket.socket] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept_until_closed, daemon=True)
        self._thread.start()

    @property
    def accepted(self) -> int:
        return len(self._held)

    def url(self, path: str = "/", scheme: str = "http") -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}{path}"

    def _accept_until_closed(self):
        while not self._stopping.is_set():
            try:
                self._held.append(self._sock.accept()[0])
            except TimeoutError:
                continue

    def close(self) -> None:
        """Stop accepting and close; closing again does nothing."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._thread.join()
        self._sock.setblocking(False)
        while True:
            try:
                self._held.append(self._sock.accept()[0])
            except BlockingIOError:
                break
        for conn in self._held:
            conn.close()
        self._sock.close()

    def __enter__(self) -> SilentListener:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (it was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class ReceivedMail:
    sender: str
    recipients: list[str]
    message: EmailMessage


class MailServer:
    """An SMTP server on 127.0.0.1 that keeps what it receives in :attr:`mails`.

    ``security``: ``"none"``, ``"starttls"`` (offered and required) or ``"tls"`` (implicit),
    with a certificate from ``certificate``. ``credentials`` (user, password) makes AUTH
    required; it needs TLS, as aiosmtpd refuses AUTH in the clear.
    """

    def __init__(
        self,
        security: str = "none",
        certificate: trustme.LeafCert | None = None,
        credentials: tuple[str, str] | None = None,
    ):
        self.mails: list[ReceivedMail] = []
        self.logins: list[str] = []
        tls = None
        if certificate is not None:
            tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            certificate.configure_cert(tls)
        options: dict = {"server_hostname": "localhost"}
        if security == "starttls":
            options.update(tls_context=tls, require_starttls=True)
        elif security == "tls":
            options.update(ssl_context=tls)
        if credentials is not None:
            options.update(
                authenticator=self._authenticator(credentials),
                auth_required=True,
                auth_require_tls=security != "none",
            )
        self.port = closed_port()
        self._controller = Controller(
            _MailHandler(self), hostname="127.0.0.1", port=self.port, **options
        )
        self._controller.start()

    def _authenticator(self, credentials: tuple[str, str]):
        user, password = (part.encode() for part in credentials)

        def authenticate(server, session, envelope, mechanism, auth_data):
            self.logins.append(auth_data.login.decode())
            ok = (auth_data.login, auth_data.password) == (user, password)
            return AuthResult(success=ok, handled=False)

        return authenticate

    def close(self) -> None:
        self._controller.stop()

    def __enter__(self) -> MailServer:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class _MailHandler:
    def __init__(self, server: MailServer):
        self.server = server

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.server.mails.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"
