"""Serve a FakeFluentCart over real HTTP/1.1 with keep-alive, in a background thread.

Each answer is written with a single send (status line, headers and body together) and Nagle is off:
splitting small writes costs a delayed-ACK stall of ~40 ms per request on loopback.
"""

from __future__ import annotations

import socket
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .wire import JSON_TYPE, PLUGIN_EXCEPTION, FakeFluentCart, Reply, encode, html_page

_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FluentCartSandbox/1"
    disable_nagle_algorithm = True
    server: "_HTTPServer"

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except ValueError:
            # A framing the server cannot read (a bad Content-Length or chunk size): Apache's 400.
            self.close_connection = True
            self._send(Reply(400, {"Content-Type": "text/html"}, html_page(400)))
            return
        try:
            reply = self.server.fake.respond(self.command, self.path, dict(self.headers.items()), body)
        except Exception:  # noqa: BLE001 - the fake must answer, as PHP's fatal-error handler does
            # A bug in the fake must still reach the client as an answer, never as a dropped
            # connection that a client would treat as "the outcome is unknown".
            self.log_error("sandbox error on %s %s\n%s", self.command, self.path, traceback.format_exc())
            reply = Reply(500, {"Content-Type": JSON_TYPE}, encode(PLUGIN_EXCEPTION))
        if reply.fault == "drop":
            # Close without a byte of answer: the client sees "connection closed", as with a dead worker.
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if reply.fault == "slow" and self.server.stopping.wait(reply.delay):
            self.close_connection = True
            return
        self._send(reply)

    def _read_body(self) -> bytes:
        """The request body; ValueError when its framing is unreadable."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = (self.headers.get("Content-Length") or "").strip()
        if not length:
            return b""
        if not length.isascii() or not length.isdigit():
            raise ValueError(f"bad Content-Length {length!r}")
        return self.rfile.read(int(length))

    def _send(self, reply: Reply) -> None:
        payload = b"" if self.command == "HEAD" else reply.body
        lines = [f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Unknown')}"]
        lines += [f"{name}: {value}" for name, value in reply.headers.items()]
        lines.append(f"Content-Length: {len(reply.body)}")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        try:
            self.wfile.write(head + payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        if self.server.verbose:
            self.log_request(reply.status, len(reply.body))

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size < 0:
                raise ValueError("negative chunk size")
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            sys.stderr.write(f"[sandbox] {self.address_string()} {format % args}\n")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], fake: FakeFluentCart, verbose: bool) -> None:
        self.fake = fake
        self.verbose = verbose
        self.stopping = threading.Event()
        self.open_sockets: set[socket.socket] = set()
        self.open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.open_lock:
            self.open_sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.open_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def close_open_sockets(self) -> None:
        """Cut idle keep-alive connections, so a stopped sandbox really stops answering."""
        with self.open_lock:
            sockets = list(self.open_sockets)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class SandboxServer:
    """`with SandboxServer(fake) as server: requests.get(server.base_url + "/customers", ...)`.

    Starting sets `fake.site_url` to the server's URL, so paginator and user links point at it.
    """

    def __init__(self, fake: FakeFluentCart, host: str = "127.0.0.1", port: int = 0, *, verbose: bool = False) -> None:
        self.fake = fake
        self.host = host
        self.port = port
        self.verbose = verbose
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = self.host if self.host not in ("0.0.0.0", "") else "127.0.0.1"
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/wp-json/fluent-cart/v2"

    def start(self) -> "SandboxServer":
        if self._httpd is not None:
            return self
        self._httpd = _HTTPServer((self.host, self.port), self.fake, self.verbose)
        self.port = self._httpd.server_address[1]
        self.fake.site_url = self.url
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"fluentcart-sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.stopping.set()
        httpd.shutdown()
        httpd.close_open_sockets()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def serve_forever(self) -> None:
        """Run in the calling thread until stop() is called from elsewhere (the CLI's loop)."""
        self.start()
        assert self._thread is not None
        while self._thread.is_alive():
            self._thread.join(timeout=0.5)

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()
