#!/usr/bin/env python3
"""Prove, with a real Chromium, that a browser can use the Resourcify API.

curl and the Rust tests cannot show what a browser enforces: CORS (preflights,
which response headers JavaScript may read), EventSource's own reconnection
with Last-Event-ID, and the Content-Security-Policy under which Swagger UI has
to run. This harness drives the system Chromium with Playwright and checks:

1. Cross-origin REST. page.html, served from http://localhost:PAGEPORT, calls
   the API (at another origin) with fetch: registers, logs in with
   ?min_position, submits a resource with Authorization, Content-Type: json
   and Idempotency-Key (a preflighted request), reads it back with
   X-Resourcify-Min-Position, and reads Location, ETag, X-Resourcify-Position
   and X-Request-Id from JavaScript. A 422 problem+json is readable too.
2. Resumable stream. The page follows GET /v1/streams/resources with
   EventSource. The page reaches the API through a TCP relay (below) that
   this harness tells to drop every connection once the first submission's
   event has arrived; submissions are then made while the stream is down.
   The browser must reconnect by itself sending Last-Event-ID, and then
   receive every submission exactly once, ids strictly increasing, the same
   events the server replays from that point.
3. Swagger UI at API/docs (same origin as the API) lists every operation and
   runs GET /v1/tags through "Try it out" -> "Execute" with a 200 answer.
   Any CSP violation, CORS refusal or uncaught error in the browser fails the
   run, and the console text is printed as the browser reported it.

Usage (the API must already run with RESOURCIFY_CORS_ORIGINS=http://localhost:PAGEPORT):

    python run_browser.py --api http://127.0.0.1:APIPORT --page-origin-port PAGEPORT

Prints one line per check; exits 0 only if every check passed. Needs the
Python package `playwright` and Chromium at /usr/bin/chromium (it never
downloads a browser).
"""

import argparse
import asyncio
import functools
import http.server
import re
import secrets
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout
from playwright.async_api import async_playwright

HERE = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--disable-dev-shm-usage",
]
PASSWORD = "correct horse battery staple"
WHOLE_RUN_TIMEOUT_S = 90
WAIT_MS = 15_000  # the longest any single browser wait may take

# Recorded in every page before its own scripts run: the browser's own
# report of each Content-Security-Policy violation.
CSP_RECORDER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(
    `${e.effectiveDirective} blocked ${e.blockedURI || "(inline)"}` +
    ` at ${e.sourceFile || "?"}:${e.lineNumber}:${e.columnNumber}` +
    (e.sample ? ` sample ${JSON.stringify(e.sample)}` : ""));
});
"""


# --------------------------------------------------------------------------
# Reporting


class CheckFailed(Exception):
    """A check whose failure makes the rest of its section meaningless."""


class Report:
    def __init__(self):
        self.failures = []

    def check(self, name, ok, detail=""):
        print(f"{'PASS' if ok else 'FAIL'}  {name}" + (f"  [{detail}]" if detail else ""), flush=True)
        if not ok:
            self.failures.append(f"{name}: {detail}" if detail else name)
        return ok

    def require(self, name, ok, detail=""):
        if not self.check(name, ok, detail):
            raise CheckFailed(name)

    @staticmethod
    def note(text):
        print(f"INFO  {text}", flush=True)


def brief(answer):
    """A short description of a page.resourcify call's answer, for messages
    (long strings such as tokens cut short)."""
    if "networkError" in answer:
        return f"network error (a CORS refusal looks like this): {answer['networkError']}"
    body = answer.get("body")
    if isinstance(body, dict):
        body = {k: (v[:24] + "..." if isinstance(v, str) and len(v) > 40 else v) for k, v in body.items()}
    return f"status {answer.get('status')}, body {str(body)[:240]}"


# --------------------------------------------------------------------------
# The TCP relay between the page and the API


class RequestTap:
    """Reads the client-to-server bytes of one HTTP/1.1 connection and reports
    each request head (method, target, lower-cased headers), skipping bodies."""

    def __init__(self, on_request):
        self.on_request = on_request
        self.buffer = b""
        self.body_left = 0

    def feed(self, data):
        self.buffer += data
        while True:
            if self.body_left:
                skipped = min(self.body_left, len(self.buffer))
                self.buffer = self.buffer[skipped:]
                self.body_left -= skipped
                if self.body_left:
                    return
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head, self.buffer = self.buffer[:end].decode("latin-1"), self.buffer[end + 4:]
            request_line, *header_lines = head.split("\r\n")
            method, target, _ = request_line.split(" ", 2)
            headers = {}
            for line in header_lines:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            self.body_left = int(headers.get("content-length") or 0)
            self.on_request(method, target, headers)


class Relay:
    """Forwards TCP connections to the API; records every request head that
    goes through and the SSE `retry:` fields that come back; can drop every
    open connection at once, as a network failure would."""

    def __init__(self, upstream_host, upstream_port):
        self.upstream = (upstream_host, upstream_port)
        self.open_pairs = set()
        self.requests = []
        self.retry_fields = []
        self.keepalive_comments = 0
        self.port = None
        self._server = None
        self._connections = 0

    async def start(self):
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self):
        self._server.close()
        self.cut_all()
        await self._server.wait_closed()

    def cut_all(self):
        """Reset every open connection, both sides; returns how many."""
        pairs = list(self.open_pairs)
        for client, upstream in pairs:
            client.transport.abort()
            upstream.transport.abort()
        return len(pairs)

    def stream_requests(self):
        return [r for r in self.requests
                if r["method"] == "GET" and r["target"].startswith("/v1/streams/resources")]

    async def _serve(self, client_reader, client_writer):
        self._connections += 1
        connection = self._connections
        try:
            upstream_reader, upstream_writer = await asyncio.wait_for(
                asyncio.open_connection(*self.upstream), 5)
        except (OSError, asyncio.TimeoutError):
            client_writer.transport.abort()
            return
        pair = (client_writer, upstream_writer)
        self.open_pairs.add(pair)
        tap = RequestTap(functools.partial(self._record_request, connection))
        pipes = [
            asyncio.create_task(self._pipe(client_reader, upstream_writer, tap.feed)),
            asyncio.create_task(self._pipe(upstream_reader, client_writer, self._watch_answer)),
        ]
        try:
            await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pipe in pipes:
                pipe.cancel()
            for writer in pair:
                writer.transport.abort()
            self.open_pairs.discard(pair)

    def _record_request(self, connection, method, target, headers):
        self.requests.append({"connection": connection, "method": method, "target": target,
                              "headers": headers, "at": time.monotonic()})

    def _watch_answer(self, data):
        self.retry_fields += [int(v) for v in re.findall(rb"(?:^|\n)retry: ?(\d+)", data)]
        self.keepalive_comments += len(re.findall(rb"(?:^|\n): ?keep-alive", data))

    @staticmethod
    async def _pipe(reader, writer, tap):
        try:
            while data := await reader.read(65536):
                tap(data)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass


# --------------------------------------------------------------------------
# The page's own origin


class QuietPageHandler(http.server.SimpleHTTPRequestHandler):
    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, *args):
        pass


def start_page_server(port):
    handler = functools.partial(QuietPageHandler, directory=str(HERE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# --------------------------------------------------------------------------
# The browser's console


class Console:
    """Every console error or warning and uncaught exception, per page."""

    def __init__(self):
        self.entries = []  # (page label, kind, text, url)

    def attach(self, page, label):
        def on_console(message):
            if message.type in ("error", "warning"):
                self.entries.append((label, message.type, message.text, message.location.get("url", "")))

        page.on("console", on_console)
        page.on("pageerror", lambda error: self.entries.append((label, "pageerror", str(error), "")))

    def of(self, label):
        return [e for e in self.entries if e[0] == label]


def is_csp(text):
    return "Content Security Policy" in text or "Refused to" in text


def is_cors(text):
    return "CORS policy" in text


# --------------------------------------------------------------------------
# 1. Cross-origin REST


def new_resource(label):
    tag = secrets.token_hex(4)
    return {
        "title": f"Browser contract {label} {tag}",
        "url": f"https://example.org/browser-contract/{label}/{tag}",
        "description": "Submitted by tests/contract/browser/run_browser.py.",
        "tags": ["browser-contract"],
        "kind": "article",
    }


async def submit(page, token, resource, key=None):
    key = key or f"browser-contract-{secrets.token_hex(8)}"
    return await page.evaluate("([t, r, k]) => resourcify.submit(t, r, k)", [token, resource, key])


async def check_rest(page, relay, report):
    """Returns the logged-in session ({'token': ...})."""
    username = f"br_{secrets.token_hex(6)}"
    registered = await page.evaluate("([u, e, p]) => resourcify.register(u, e, p)",
                                     [username, f"{username}@example.org", PASSWORD])
    report.require("register: POST /v1/users from another origin -> 201 with position",
                   registered.get("status") == 201
                   and isinstance((registered.get("body") or {}).get("position"), int),
                   brief(registered))

    position = registered["body"]["position"]
    session = await page.evaluate("([l, p, m]) => resourcify.login(l, p, m)",
                                  [username, PASSWORD, position])
    token = (session.get("body") or {}).get("access_token") if isinstance(session.get("body"), dict) else None
    report.require(f"log in: POST /v1/sessions?min_position={position} -> 200 with access_token",
                   session.get("status") == 200 and bool(token), brief(session))

    resource = new_resource("rest")
    key = f"browser-contract-{secrets.token_hex(8)}"
    submitted = await submit(page, token, resource, key)
    body = submitted.get("body") if isinstance(submitted.get("body"), dict) else {}
    report.require("submit: POST /v1/resources (Bearer, JSON, Idempotency-Key) -> 201 {id, position}",
                   submitted.get("status") == 201 and body.get("id") and isinstance(body.get("position"), int),
                   brief(submitted))
    rid, rpos, headers = body["id"], body["position"], submitted["headers"]
    check_preflight(relay, report)
    report.check("submit: JS reads Location (ends with the id)",
                 bool(headers.get("location")) and headers["location"].endswith(rid), f"Location={headers.get('location')!r}")
    report.check("submit: JS reads X-Resourcify-Position (= body position)",
                 headers.get("x-resourcify-position") == str(rpos),
                 f"X-Resourcify-Position={headers.get('x-resourcify-position')!r}, body position={rpos}")
    report.check("submit: JS reads X-Request-Id", bool(headers.get("x-request-id")),
                 f"X-Request-Id={headers.get('x-request-id')!r}")

    retried = await submit(page, token, resource, key)
    report.check("submit: a retry with the same Idempotency-Key answers the same id and position",
                 retried.get("status") in (200, 201) and isinstance(retried.get("body"), dict)
                 and retried["body"].get("id") == rid and retried["body"].get("position") == rpos,
                 brief(retried))

    read = await page.evaluate("([i, p]) => resourcify.read(i, p)", [rid, rpos])
    rbody = read.get("body") if isinstance(read.get("body"), dict) else {}
    report.check("read back: GET /v1/resources/{id} with X-Resourcify-Min-Position -> 200, our resource",
                 read.get("status") == 200 and rbody.get("id") == rid and rbody.get("title") == resource["title"],
                 brief(read))
    report.check("read back: JS reads ETag", bool(read.get("headers", {}).get("etag")),
                 f"ETag={read.get('headers', {}).get('etag')!r}")
    report.check("read back: JS reads X-Request-Id", bool(read.get("headers", {}).get("x-request-id")),
                 f"X-Request-Id={read.get('headers', {}).get('x-request-id')!r}")

    await check_problem(page, token, report)
    return {"token": token, "username": username}


def check_preflight(relay, report):
    preflights = [r for r in relay.requests if r["method"] == "OPTIONS" and r["target"] == "/v1/resources"]
    asked = preflights[0]["headers"].get("access-control-request-headers", "") if preflights else ""
    report.check("submit: the browser sent a CORS preflight (OPTIONS /v1/resources) and went on",
                 bool(preflights) and "idempotency-key" in asked.lower(),
                 f"Access-Control-Request-Headers: {asked!r}")


async def check_problem(page, token, report):
    invalid = new_resource("invalid")
    del invalid["title"]
    problem = await submit(page, token, invalid)
    body = problem.get("body") if isinstance(problem.get("body"), dict) else {}
    content_type = (problem.get("headers") or {}).get("content-type") or ""
    report.check("problem: submit without title -> 422 application/problem+json, readable from JS",
                 problem.get("status") == 422 and content_type.startswith("application/problem+json")
                 and bool(body.get("type")) and "title" in str(body.get("errors")),
                 brief(problem))
    report.check("problem: JS reads X-Request-Id on the error answer",
                 bool((problem.get("headers") or {}).get("x-request-id")),
                 f"X-Request-Id={(problem.get('headers') or {}).get('x-request-id')!r}")


# --------------------------------------------------------------------------
# 2. The resumable stream


async def wait_for_event_id(page, position):
    await page.wait_for_function("(id) => stream.events.some((e) => e.id === id)",
                                 arg=str(position), timeout=WAIT_MS)


async def submit_ok(page, session, label, report):
    answer = await submit(page, session["token"], new_resource(label))
    report.require(f"stream: submission '{label}' -> 201", answer.get("status") == 201, brief(answer))
    return answer["body"]


async def check_stream(page, relay, api, session, report):
    await page.evaluate("resourcify.startStream()")
    await page.wait_for_function("stream.opens >= 1", timeout=WAIT_MS)
    report.check("stream: EventSource from another origin opens", True)

    first = await submit_ok(page, session, "before-cut", report)
    await wait_for_event_id(page, first["position"])
    report.check("stream: the first submission's event arrives live", True, f"id {first['position']}")

    last_seen = await page.evaluate("stream.events[stream.events.length - 1].id")
    streams_before = len(relay.stream_requests())
    cut_at = time.monotonic()
    report.require("stream: the relay dropped the open connections", relay.cut_all() >= 1)
    await page.wait_for_function("stream.errors >= 1", timeout=WAIT_MS)

    during = [await submit_ok(page, session, f"while-cut-{i}", report) for i in (1, 2)]
    down = len(relay.stream_requests()) == streams_before
    report.note(f"submissions made while the stream was down: {down}")
    await wait_for_event_id(page, during[-1]["position"])

    after = await submit_ok(page, session, "after-reconnect", report)
    await wait_for_event_id(page, after["position"])

    check_reconnect(relay, streams_before, last_seen, cut_at, report)
    events = await page.evaluate(
        "stream.events.map((e) => ({type: e.type, id: e.id, rid: e.data && e.data.resource_id}))")
    check_stream_events(events, [first, *during, after], report)
    await check_against_replay(api, events, first["position"], after["position"], report)
    report.check("stream: EventSource opened again (2 opens)",
                 await page.evaluate("stream.opens") >= 2,
                 f"opens {await page.evaluate('stream.opens')}, readyState {await page.evaluate('streamState()')}")
    report.note(f"SSE retry fields seen by the relay: {relay.retry_fields}; "
                f"keep-alive comments: {relay.keepalive_comments}")
    await page.evaluate("resourcify.stopStream()")


def check_reconnect(relay, streams_before, last_seen, cut_at, report):
    reconnects = relay.stream_requests()[streams_before:]
    report.require("stream: the browser reconnected by itself",
                   bool(reconnects), f"{len(reconnects)} new stream request(s)")
    sent = reconnects[0]["headers"].get("last-event-id")
    report.check("stream: the reconnect carried Last-Event-ID = the last id received",
                 sent == last_seen,
                 f"Last-Event-ID {sent!r}, last id received {last_seen!r}, "
                 f"reconnected {reconnects[0]['at'] - cut_at:.1f}s after the cut")
    preflighted = any(r["method"] == "OPTIONS" and r["target"].startswith("/v1/streams/resources")
                      for r in relay.requests)
    report.note(f"the reconnect was {'preflighted' if preflighted else 'not preflighted'}")


def check_stream_events(events, submissions, report):
    ids = [int(e["id"]) for e in events]
    report.check("stream: event ids strictly increasing (no duplicate, no reordering)",
                 all(a < b for a, b in zip(ids, ids[1:])), f"ids {ids}")
    missing = []
    for s in submissions:
        seen = [e for e in events if e["type"] == "resource.submitted" and e["rid"] == s["id"]]
        if len(seen) != 1 or seen[0]["id"] != str(s["position"]):
            missing.append(f"{s['id']}@{s['position']}: seen as {seen}")
    report.check("stream: every submission seen exactly once, with id = its position",
                 not missing, "; ".join(missing) or f"{len(submissions)} submissions")
    report.check("stream: no resync or too-slow event",
                 not any(e["type"] in ("resync", "too-slow", "message") for e in events),
                 f"types {sorted({e['type'] for e in events})}")


async def check_against_replay(api, events, first_id, last_id, report):
    """The server's own replay after first_id-1 must hold exactly the events
    the browser received (no gap hidden by the reconnect)."""
    replay = await read_replay(api, first_id - 1, last_id)
    browser = [(e["type"], e["id"]) for e in events if first_id <= int(e["id"]) <= last_id]
    report.check("stream: the browser's events equal the server's replay of the same range",
                 browser == replay, f"browser {browser}, replay {replay}")


async def read_replay(api, after, until):
    events, current = [], {}
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0)) as client:
        async with client.stream("GET", f"{api}/v1/streams/resources",
                                 headers={"Last-Event-ID": str(after)}) as response:
            async for line in response.aiter_lines():
                if line.startswith("id:"):
                    current["id"] = line[3:].strip()
                elif line.startswith("event:"):
                    current["type"] = line[6:].strip()
                elif line == "" and "id" in current:
                    events.append((current.get("type", "message"), current["id"]))
                    if int(current["id"]) >= until:
                        break
                    current = {}
    return events


# --------------------------------------------------------------------------
# 3. Swagger UI


def expected_operation_blocks(api):
    """Swagger UI renders an operation once under each of its tags."""
    spec = httpx.get(f"{api}/openapi.json", timeout=10).json()
    methods = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
    return sum(max(1, len(op.get("tags") or []))
               for item in spec["paths"].values()
               for method, op in item.items() if method in methods)


async def check_swagger(page, api, console, report):
    response = await page.goto(f"{api}/docs", timeout=WAIT_MS)
    csp = (await response.all_headers()).get("content-security-policy")
    report.check("docs: GET /docs -> 200", response.status == 200, f"status {response.status}")
    report.note(f"/docs Content-Security-Policy: {csp}")
    try:
        await page.wait_for_selector(".opblock", timeout=WAIT_MS)
    except PlaywrightTimeout:
        report.require("docs: Swagger UI renders the operations", False,
                       "no .opblock after 15 s; browser console: "
                       + " | ".join(f"{kind}: {text}" for _, kind, text, _ in console.of("docs")))
    rendered, expected = await page.locator(".opblock").count(), expected_operation_blocks(api)
    report.check("docs: Swagger UI lists every operation", rendered == expected,
                 f"{rendered} rendered, {expected} in /openapi.json")

    block = page.locator(".opblock.opblock-get",
                         has=page.locator('.opblock-summary-path[data-path="/v1/tags"]')).first
    await block.locator(".opblock-summary").first.click()
    await block.locator("button.try-out__btn").click()
    await block.locator("button.execute").click()
    status = block.locator(".live-responses-table tr.response .response-col_status").first
    try:
        await status.wait_for(timeout=WAIT_MS)
        shown = (await status.inner_text()).strip()
    except PlaywrightTimeout:
        shown = "(no response shown)"
    report.check("docs: Try it out -> Execute GET /v1/tags shows 200", shown.startswith("200"),
                 f"shown: {shown!r}")


# --------------------------------------------------------------------------
# The browser console verdict


# Console errors the scenario causes on purpose: the deliberate 422, the
# network errors of the connections the relay dropped, and the browser asking
# the API origin for /favicon.ico (which an API need not serve).
def is_expected(text, url):
    return (text.startswith("Failed to load resource: the server responded with a status of 422")
            or re.search(r"net::ERR_(CONNECTION_RESET|CONNECTION_CLOSED|EMPTY_RESPONSE"
                         r"|INCOMPLETE_CHUNKED_ENCODING)", text) is not None
            or (text.startswith("Failed to load resource") and url.endswith("/favicon.ico")))


async def check_console(pages, console, report):
    for label, page in pages.items():
        recorded = await page.evaluate("window.__cspViolations || []") if not page.is_closed() else []
        entries = console.of(label)
        csp = [t for _, _, t, _ in entries if is_csp(t)] + recorded
        report.check(f"console ({label}): no Content-Security-Policy violation", not csp, " | ".join(csp))
        cors = [t for _, _, t, _ in entries if is_cors(t)]
        report.check(f"console ({label}): no CORS refusal", not cors, " | ".join(cors))
        uncaught = [t for _, kind, t, _ in entries if kind == "pageerror"]
        report.check(f"console ({label}): no uncaught error", not uncaught, " | ".join(uncaught))
        other = [f"{kind}: {t} ({url})" for _, kind, t, url in entries
                 if kind != "pageerror" and not is_csp(t) and not is_cors(t) and not is_expected(t, url)]
        report.check(f"console ({label}): no unexpected console error", not other, " | ".join(other))
        tolerated = [f"{t} ({url})" for _, kind, t, url in entries if kind != "pageerror" and is_expected(t, url)]
        if tolerated:
            report.note(f"console ({label}), expected: " + " | ".join(tolerated))


# --------------------------------------------------------------------------
# Running it all


async def section(report, name, coroutine):
    try:
        return await coroutine
    except CheckFailed:
        report.note(f"{name}: stopped after a failed check")
    except (PlaywrightTimeout, PlaywrightError, httpx.HTTPError, asyncio.TimeoutError) as error:
        report.check(f"{name}: finished without a timeout or browser error", False,
                     f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}")
    return None


async def run(api, page_port, report):
    upstream = urlsplit(api)
    relay = Relay(upstream.hostname, upstream.port or 80)
    await relay.start()
    page_server = start_page_server(page_port)
    console = Console()
    report.note(f"API {api}; page http://localhost:{page_port}; relay 127.0.0.1:{relay.port}")
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, timeout=WAIT_MS)
            try:
                context = await browser.new_context()
                context.set_default_timeout(WAIT_MS)
                await context.add_init_script(CSP_RECORDER)
                pages = {"client": await context.new_page(), "docs": await context.new_page()}
                for label, page in pages.items():
                    console.attach(page, label)

                client = pages["client"]
                await client.goto(f"http://localhost:{page_port}/page.html?api=http://127.0.0.1:{relay.port}")
                session = await section(report, "cross-origin REST", check_rest(client, relay, report))
                if session:
                    await section(report, "stream", check_stream(client, relay, api, session, report))
                await section(report, "Swagger UI", check_swagger(pages["docs"], api, console, report))
                await section(report, "console", check_console(pages, console, report))
            finally:
                await browser.close()
    finally:
        page_server.shutdown()
        page_server.server_close()
        await relay.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", required=True, help="the API base, e.g. http://127.0.0.1:8080")
    parser.add_argument("--page-origin-port", type=int, required=True,
                        help="serve page.html on http://localhost:PORT (the API's allowed CORS origin)")
    args = parser.parse_args()

    report = Report()
    started = time.monotonic()
    try:
        asyncio.run(asyncio.wait_for(run(args.api.rstrip("/"), args.page_origin_port, report),
                                     WHOLE_RUN_TIMEOUT_S))
    except asyncio.TimeoutError:
        report.check("the whole run finished in time", False, f"over {WHOLE_RUN_TIMEOUT_S} s")
    except Exception as error:  # noqa: BLE001 - any crash is a failed run, reported as such
        report.check("the harness ran", False, f"{type(error).__name__}: {error}")
    elapsed = time.monotonic() - started
    if report.failures:
        print(f"FAILED ({len(report.failures)} check(s), {elapsed:.1f} s):", flush=True)
        for failure in report.failures:
            print(f"  - {failure}")
        sys.exit(1)
    print(f"ALL PASSED ({elapsed:.1f} s)")
    sys.exit(0)


if __name__ == "__main__":
    main()
