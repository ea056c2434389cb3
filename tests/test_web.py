"""What every page promises: safety controls, security headers, cookies, and error pages."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from flask import Flask

from portal.web import AnonymousRequestHandler

REPORTER_PAGES = ["/", "/report", "/no-such-page"]


class ResourceCollector(HTMLParser):
    """Collect every URL a page would load, and any inline script or style."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[str] = []
        self.inline: list[str] = []
        self._in_script_without_src = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if "style" in attributes:
            self.inline.append(f"style attribute on <{tag}>")
        if any(name.startswith("on") for name in attributes):
            self.inline.append(f"event handler on <{tag}>")
        if tag == "style":
            self.inline.append("<style> element")
        if tag == "script":
            if attributes.get("src"):
                self.loads.append(attributes["src"])
            else:
                self._in_script_without_src = True
        if tag in ("img", "iframe", "audio", "video", "source") and attributes.get("src"):
            self.loads.append(attributes["src"])
        if tag == "link" and attributes.get("href"):
            self.loads.append(attributes["href"])

    def handle_data(self, data):
        if self._in_script_without_src and data.strip():
            self.inline.append("inline <script>")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script_without_src = False


@pytest.fixture
def ready(factory):
    factory.portal_ready()


@pytest.mark.parametrize("path", REPORTER_PAGES)
def test_reporter_pages_load_nothing_from_elsewhere_and_nothing_inline(client, ready, path):
    html = client.get(path).get_data(as_text=True)
    collector = ResourceCollector()
    collector.feed(html)
    assert collector.loads, "the stylesheet should be found"
    for url in collector.loads:
        assert url.startswith("/") and not url.startswith("//"), url
    assert collector.inline == []


@pytest.mark.parametrize("path", REPORTER_PAGES)
def test_every_page_has_the_leave_quickly_control_and_emergency_numbers(client, ready, path):
    html = client.get(path).get_data(as_text=True)
    assert re.search(r'<a class="leave-quickly" id="leave-quickly" href="https://weather.gc.ca/"', html)
    assert "911" in html and "1-800-420-5805" in html


def test_the_landing_page_explains_the_portal(client, ready):
    html = client.get("/").get_data(as_text=True)
    for text in (
        "Who runs this portal",
        "What happens to your report",
        "Tor Browser",
        "receipt code",
        'href="/report"',
    ):
        assert text in html


@pytest.mark.parametrize("path", ["/", "/report", "/no-such-page"])
def test_security_headers(client, ready, path):
    headers = client.get(path).headers
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "no-store"


def test_the_session_cookie_is_locked_down(client, ready):
    response = client.get("/report")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-portal=")
    for flag in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
        assert flag in cookie
    assert "Domain=" not in cookie


def test_the_leave_script_is_served_from_this_site(client):
    with client.get("/static/leave.js") as response:
        assert response.status_code == 200
        assert "location.replace" in response.get_data(as_text=True)


def test_unknown_routes_get_the_404_page(client):
    response = client.get("/nothing/here")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_wrong_methods_get_a_page_not_a_crash(client):
    response = client.delete("/report")
    assert response.status_code == 405
    assert "not possible here" in response.get_data(as_text=True)


def test_an_oversized_request_gets_the_413_page(make_app, factory):
    app = make_app(PORTAL_MAX_REQUEST_BYTES=10_000)
    with app.app_context():
        response = app.test_client().post("/report", data={"narrative": "x" * 20_000})
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)


def test_a_server_error_shows_nothing_of_the_exception(make_app, caplog):
    app = make_app()

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret detail 4242")

    response = app.test_client().get("/boom")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong on our side" in body
    assert "secret detail" not in body and "RuntimeError" not in body and "Traceback" not in body


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "ok\n"


def test_the_language_switcher_changes_the_language(client, ready):
    response = client.get("/lang/fr?next=/report")
    assert response.status_code == 303
    assert response.headers["Location"] == "/report"
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="fr"' in html
    assert "Quitter rapidement" in html


def test_the_browser_language_is_used_when_nothing_was_chosen(client, ready):
    html = client.get("/", headers={"Accept-Language": "fr-CA,fr;q=0.9"}).get_data(as_text=True)
    assert '<html lang="fr"' in html


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"])
def test_the_language_switcher_is_not_an_open_redirect(client, target):
    response = client.get("/lang/fr", query_string={"next": target})
    assert response.headers["Location"] == "/"


def test_the_development_server_never_logs_client_addresses():
    handler = AnonymousRequestHandler.__new__(AnonymousRequestHandler)
    handler.client_address = ("203.0.113.9", 51234)
    assert handler.address_string() == "-"
    logged = []
    handler.log = lambda kind, message, *args: logged.append(message % args)
    handler.requestline = "GET /report?x=1 HTTP/1.1"
    handler.log_request(200)
    assert logged == ["200"]


def test_the_app_does_not_start_with_a_placeholder_secret(app: Flask):
    assert app.secret_key and app.secret_key != "dev" and len(app.secret_key) >= 32
