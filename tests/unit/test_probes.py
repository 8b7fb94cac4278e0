"""HTTP from the host, against a real server on loopback (no cluster needed)."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator

import pytest

from kubelab.probes import http_get, web_said


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status = 200 if self.path == "/" else 404
        self.send_response(status)
        self.send_header("X-Pod", "web-1")
        self.end_headers()
        self.wfile.write(b'{"pod": "web-1", "version": "v1"}\n' if status == 200 else b"nope\n")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_answer_with_body_and_headers(server: str) -> None:
    answer = http_get(server + "/")
    assert answer.status == 200 and '"pod": "web-1"' in answer.body
    assert answer.headers["X-Pod"] == "web-1"


def test_error_status_is_an_answer(server: str) -> None:
    answer = http_get(server + "/missing")
    assert answer.status == 404 and "HTTP 404" in answer.describe()


def test_no_server_is_no_answer() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    answer = http_get(f"http://127.0.0.1:{port}/", timeout=1)
    assert answer.status == 0
    assert answer.describe().startswith(f"no answer from http://127.0.0.1:{port}/")


class Redirect(http.server.BaseHTTPRequestHandler):
    target = ""

    def do_GET(self) -> None:
        self.send_response(302)
        self.send_header("Location", self.target)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_a_redirect_is_an_answer_not_an_errand(server: str) -> None:
    """A NodePort that answers 302 elsewhere must not make kubelab fetch another address."""
    Redirect.target = server + "/"
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        answer = http_get(f"http://127.0.0.1:{httpd.server_address[1]}/")
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert answer.status == 302 and answer.headers["Location"] == server + "/"


def test_the_environments_proxy_is_not_used(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    assert http_get(server + "/").status == 200


def test_web_said_reads_the_web_images_answer_or_names_what_answered() -> None:
    assert web_said('{"pod": "eva-west-1", "version": "v1"}', "pod") == "eva-west-1"
    assert web_said('{"pod": "eva-west-1", "version": "v1"}', "version") == "v1"
    assert web_said("<html>nginx</html>", "pod") == "(not the web image: '<html>nginx</html>')"
    assert web_said('{"other": 1}', "pod").startswith("(not the web image")
