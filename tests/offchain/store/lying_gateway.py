"""A gateway that lies, for the tests: a loopback HTTP proxy in front of an honest one.

``mode`` ``flip`` flips one byte in the middle of every ``?format=raw`` block and of
every CAR body after its header; ``wrong`` answers every block request with the bytes of
another block; ``truncate`` sends half of each body and then closes the connection.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

__all__ = ["LyingGateway"]


class LyingGateway:
    """Serve on 127.0.0.1 (``url``) until :meth:`shutdown`."""

    def __init__(self, honest: str, mode: str, other_block: bytes = b"") -> None:
        client = httpx.Client(base_url=honest, timeout=30)

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                real = client.get(self.path, headers={"Accept": self.headers.get("Accept", "")})
                body = real.content
                if real.status_code == 200 and mode == "flip" and len(body) > 200:
                    mutable = bytearray(body)
                    mutable[len(body) // 2] ^= 0x01
                    body = bytes(mutable)
                elif real.status_code == 200 and mode == "wrong" and "format=raw" in self.path:
                    body = other_block
                self.send_response(real.status_code)
                self.send_header("Content-Type", real.headers.get("content-type", ""))
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if mode == "truncate" and real.status_code == 200:
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def shutdown(self) -> None:
        self._server.shutdown()
        self._server.server_close()
