"""A git server on loopback that speaks git's smart HTTP (`git http-backend`), for plugin
marketplaces the real CLI clones (it clones shallow, which git's dumb HTTP cannot serve).

A test points github.com at it for one HOME with git's own `url.<base>.insteadOf`, so
`claude plugin marketplace add owner/repo` clones `https://github.com/owner/repo.git` from
here, and nothing leaves the machine.
"""

from __future__ import annotations

import http.server
import subprocess
import threading
from pathlib import Path
from urllib.parse import urlsplit


class GitServer:
    def __init__(self, root: Path):
        self.root = root
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _backend(self):
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                env = {"GIT_PROJECT_ROOT": str(server.root), "GIT_HTTP_EXPORT_ALL": "1", "PATH_INFO": url.path,
                       "QUERY_STRING": url.query, "REQUEST_METHOD": self.command,
                       "CONTENT_TYPE": self.headers.get("Content-Type", ""), "CONTENT_LENGTH": str(length),
                       "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""), "PATH": "/usr/bin:/bin"}
                done = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True, check=False)
                head, _, payload = done.stdout.partition(b"\r\n\r\n")
                status, headers = 200, []
                for line in head.decode("latin-1").split("\r\n"):
                    name, _, value = line.partition(":")
                    if name.lower() == "status":
                        status = int(value.split()[0])
                    elif name:
                        headers.append((name, value.strip()))
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _backend

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> GitServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def publish(self, name: str, files: dict[str, str]) -> None:
        """A bare repository `name` (e.g. "team/plugins.git") holding `files`, one commit."""
        source = self.root / ".sources" / name
        source.mkdir(parents=True)
        for relative, text in files.items():
            path = source / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        git = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"]
        subprocess.run([*git, "init", "-q", "-b", "main"], cwd=source, check=True)
        subprocess.run([*git, "add", "-A"], cwd=source, check=True)
        subprocess.run([*git, "commit", "-qm", "marketplace"], cwd=source, check=True)
        subprocess.run(["git", "clone", "-q", "--bare", str(source), str(self.root / name)], check=True)

    def stand_in_for_github(self, home: Path) -> None:
        """git, for this HOME, fetches https://github.com/ from here."""
        subprocess.run(["git", "config", "--file", str(home / ".gitconfig"), f"url.{self.url}.insteadOf",
                        "https://github.com/"], check=True)
