"""A stand-in for the cloud session's egress proxy, on loopback.

It answers a CONNECT to a refused host the way the cloud's proxy does: HTTP 403 with
`x-deny-reason: host_not_allowed`. A CONNECT to any other host gets "200 Connection
established" and is then closed: nothing leaves this machine, and the client sees the
tunnel open (the proxy allowed the host) before its TLS handshake fails. Every CONNECT
target is recorded, in order.
"""

from __future__ import annotations

import socketserver
import threading


class FakeProxy:
    def __init__(self, refused: set[str]):
        self.refused = set(refused)
        self.requests: list[str] = []
        proxy = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                line = self.rfile.readline(8192).decode("latin-1").strip()
                while self.rfile.readline(8192).strip():  # the request's headers
                    pass
                parts = line.split()
                target = parts[1] if len(parts) > 1 else ""
                host = target.rsplit(":", 1)[0] if parts and parts[0] == "CONNECT" else target
                proxy.requests.append(host)
                if host in proxy.refused:
                    self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nx-deny-reason: host_not_allowed\r\n"
                                     b"Content-Length: 0\r\nConnection: close\r\n\r\n")
                else:
                    self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def environment(self) -> dict[str, str]:
        """What a cloud session's environment says about its proxy."""
        return {"HTTPS_PROXY": self.url, "https_proxy": self.url, "HTTP_PROXY": self.url,
                "NO_PROXY": "localhost,127.0.0.1,.internal.example"}
