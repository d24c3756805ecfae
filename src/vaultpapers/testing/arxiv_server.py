"""A loopback stand-in for arXiv's export API (``/api/query``) for tests and benchmarks.

It answers ``id_list`` queries, and ``search_query`` in arXiv's grammar (fields, phrases,
AND/OR/ANDNOT, parentheses), with feeds shaped exactly like the responses arXiv really serves
(see the recorded bodies the project keeps), and can be told to misbehave the ways arXiv does:
rate limiting, outages, stalls, truncated bodies, spuriously empty pages, dropped connections.

Run on its own for programs that drive vaultpapers (the Obsidian plugin's tests):

    python -m vaultpapers.testing.arxiv_server --entries examples/arxiv-entries [--fail 503]

prints `{"url": "http://127.0.0.1:PORT/api/query"}` as one line on stdout and serves until
SIGTERM or SIGINT. While it runs, `GET /control/fail?status=503` starts an outage (every
request fails), `GET /control/recover` ends it, `GET /control/requests` counts the requests.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import random
import re
import signal
import socket
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape, quoteattr, unescape

from vaultpapers.arxiv.papers import Paper

__all__ = ["FakeArxiv", "QuerySyntaxError", "RecordedRequest", "entry_xml", "parse_search_query"]

API_PATH = "/api/query"
CONTROL_PATH = "/control/"  # only when asked for (`FakeArxiv(control=True)`)

# Lenient on purpose, like arXiv: well-formed but impossible ids (``0000.0000``, ``0808.05394``)
# are answered with an empty feed, only ids of the wrong shape get HTTP 400.
_ID_PATTERN = re.compile(
    r"(?:(?P<new>\d{4}\.\d{4,5})"
    r"|(?P<archive>[a-z]+(?:-[a-z]+)?)(?:\.[A-Za-z-]+)?/(?P<number>\d{7}))"
    r"(?:v(?P<version>[1-9]\d*))?"
)
_ENTRY_ID = re.compile(r"<id>\s*(?:https?://)?(?:www\.)?arxiv\.org/abs/(?P<id>[^<\s]+)\s*</id>")

_FEED_OPEN = (
    "<?xml version='1.0' encoding='UTF-8'?>\n"
    '<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
    'xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns="http://www.w3.org/2005/Atom">\n'
)
_ATOM_TYPE = "application/atom+xml; charset=UTF-8"
_CATEGORY_SCHEME = "http://arxiv.org/schemas/atom"

# How long a handler may block on a silent client before giving up; keeps close() bounded.
_HANDLER_SOCKET_TIMEOUT = 10.0
_CLOSE_JOIN_TIMEOUT = 5.0
# How often the accept loop looks for a `close()`: socketserver's shutdown waits for the next
# look, and a test suite starts and closes a server a few hundred times (at 0.05 s, ~0.03 s
# each on average). An idle look costs a few microseconds.
_POLL_INTERVAL = 0.005


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake received, as it parsed it."""

    id_list: tuple[str, ...]
    start: int
    max_results: int
    time: float
    """``time.monotonic()`` when the request line had been read."""
    search_query: str = ""
    fault: str | None = None
    """The injected fault this request consumed, if any."""


@dataclass(frozen=True)
class _Fault:
    kind: str
    status: int = 0
    retry_after: int | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class _StoredEntry:
    key: str
    version: int | None
    xml: str


@dataclass(frozen=True)
class _ApiQuery:
    """The parameters of one request to the API, as the fake reads them."""

    search_query: str
    raw_id_list: str
    id_list: list[str]
    start: int
    max_results: int

    @classmethod
    def parse(cls, query: str) -> _ApiQuery | None:
        """None when `start` or `max_results` is no integer (arXiv answers 400)."""
        params = parse_qs(query, keep_blank_values=True)
        raw_id_list = params.get("id_list", [""])[0]
        try:
            start = int(params.get("start", ["0"])[0])
            max_results = int(params.get("max_results", ["10"])[0])
        except ValueError:
            return None
        return cls(
            search_query=params.get("search_query", [""])[0],
            raw_id_list=raw_id_list,
            id_list=[part.strip() for part in raw_id_list.split(",") if part.strip()],
            start=start,
            max_results=max_results,
        )


def _spoiled(status: int, body: bytes, fault: _Fault, query: _ApiQuery) -> bytes:
    """An answer as `fault` spoils it: a good one emptied, or any cut short."""
    if fault.kind == "empty" and status == 200:
        return _query_feed(
            search_query=query.search_query,
            id_list=query.raw_id_list,
            start=query.start,
            max_results=query.max_results,
            total=0,
            entries=[],
        )
    if fault.kind == "malformed":
        # A body cut mid-element: what a proxy or a dropped upstream leaves behind.
        return body[: max(1, len(body) // 2)]
    return body


def _split_id(arxiv_id: str) -> tuple[str, int | None] | None:
    """``(canonical key, version)`` of an id arXiv accepts, or None for a malformed id."""
    match = _ID_PATTERN.fullmatch(arxiv_id)
    if match is None:
        return None
    version = int(match["version"]) if match["version"] else None
    if match["new"]:
        return match["new"], version
    return f"{match['archive']}/{match['number']}", version


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def entry_xml(paper: Paper) -> str:
    """One ``<entry>`` exactly as arXiv serves it inside a feed (``arxiv:`` prefix undeclared)."""
    versioned = f"{paper.arxiv_id}v{paper.version}"
    lines = [
        "<entry>",
        f"    <id>http://arxiv.org/abs/{versioned}</id>",
        f"    <title>{escape(paper.title)}</title>",
        f"    <updated>{_timestamp(paper.updated)}</updated>",
        f'    <link href="https://arxiv.org/abs/{versioned}" rel="alternate" type="text/html"/>',
        f'    <link href="https://arxiv.org/pdf/{versioned}" rel="related"'
        ' type="application/pdf" title="pdf"/>',
        f"    <summary>{escape(paper.summary)}</summary>",
    ]
    lines += [
        f"    <category term={quoteattr(category)} scheme={quoteattr(_CATEGORY_SCHEME)}/>"
        for category in paper.categories
    ]
    lines.append(f"    <published>{_timestamp(paper.published)}</published>")
    if paper.comment is not None:
        lines.append(f"    <arxiv:comment>{escape(paper.comment)}</arxiv:comment>")
    lines.append(f"    <arxiv:primary_category term={quoteattr(paper.primary_category)}/>")
    if paper.journal_ref is not None:
        lines.append(f"    <arxiv:journal_ref>{escape(paper.journal_ref)}</arxiv:journal_ref>")
    if paper.doi is not None:
        lines.append(f"    <arxiv:doi>{escape(paper.doi)}</arxiv:doi>")
    for author in paper.authors:
        lines += ["    <author>", f"      <name>{escape(author)}</name>", "    </author>"]
    lines.append("  </entry>")
    return "\n".join(lines)


def _feed_id(query: str) -> str:
    digest = hashlib.sha1(query.encode("utf-8")).digest()
    return "https://arxiv.org/api/" + base64.b64encode(digest).decode("ascii").rstrip("=")


def _query_feed(
    *, search_query: str, id_list: str, start: int, max_results: int, total: int, entries: list[str]
) -> bytes:
    query = f"search_query={search_query}&id_list={id_list}&start={start}&max_results={max_results}"
    link = (
        f"https://arxiv.org/api/query?search_query={search_query}&start={start}"
        f"&max_results={max_results}&id_list={id_list}"
    )
    parts = [
        _FEED_OPEN,
        f"  <id>{_feed_id(query)}</id>\n",
        f"  <title>{escape('arXiv Query: ' + query)}</title>\n",
        f"  <updated>{_timestamp(datetime.now(timezone.utc))}</updated>\n",
        f"  <link href={quoteattr(link)} type={quoteattr('application/atom+xml')}/>\n",
        f"  <opensearch:itemsPerPage>{max_results}</opensearch:itemsPerPage>\n",
        f"  <opensearch:totalResults>{total}</opensearch:totalResults>\n",
        f"  <opensearch:startIndex>{start}</opensearch:startIndex>\n",
    ]
    parts += [f"  {entry}\n" for entry in entries]
    parts.append("</feed>\n")
    return "".join(parts).encode("utf-8")


def _error_feed(bad_id: str) -> bytes:
    now = _timestamp(datetime.now(timezone.utc))
    error_url = f"https://arxiv.org/api/errors#incorrect_id_format_for_{bad_id}"
    return (
        _FEED_OPEN + "  <id>https://arxiv.org/</id>\n"
        "  <title>arXiv Search Results</title>\n"
        f"  <updated>{now}</updated>\n"
        "  <opensearch:itemsPerPage>1</opensearch:itemsPerPage>\n"
        "  <opensearch:totalResults>1</opensearch:totalResults>\n"
        "  <opensearch:startIndex>0</opensearch:startIndex>\n"
        "  <entry>\n"
        f"    <id>{escape(error_url)}</id>\n"
        "    <title>Error</title>\n"
        f"    <updated>{now}</updated>\n"
        f'    <link href={quoteattr(error_url)} rel="alternate" type="text/html"/>\n'
        f"    <summary>incorrect id format for {escape(bad_id)}</summary>\n"
        "    <author>\n"
        "      <name>arXiv api core</name>\n"
        "    </author>\n"
        "  </entry>\n"
        "</feed>\n"
    ).encode("utf-8")


def _arxiv_order(entries: list[_StoredEntry], requested: list[str]) -> list[_StoredEntry]:
    """A shuffled but reproducible order: arXiv guarantees none, so callers must not rely on one."""
    seed = int.from_bytes(hashlib.sha1(",".join(sorted(requested)).encode()).digest()[:8], "big")
    shuffled = list(entries)
    random.Random(seed).shuffle(shuffled)
    if len(shuffled) > 1 and shuffled == entries:
        shuffled.reverse()
    return shuffled


# -- search_query ------------------------------------------------------------------------------
# arXiv's grammar (its API manual): `prefix:term` or `prefix:"a phrase"` with the prefixes ti
# (title), abs (abstract), au (author), all (any of these); the Boolean operators AND, OR and
# ANDNOT (upper case only), and parentheses. AND and ANDNOT bind tighter than OR. A bare term
# searches all fields.

_QUERY_TOKEN = re.compile(
    r'\s*(?:(?P<open>\()|(?P<close>\))|(?P<op>ANDNOT|AND|OR)(?=[\s()"]|$)'
    r'|(?:(?P<field>ti|abs|au|all):)?(?:"(?P<phrase>[^"]*)"|(?P<word>[^\s()"]+)))'
)
_FIELDS = ("ti", "abs", "au", "all")
_TERM_WORD = re.compile(r"\w+")


class QuerySyntaxError(ValueError):
    """A search_query arXiv's grammar cannot read."""


@dataclass(frozen=True)
class _Term:
    field: str
    words: tuple[str, ...]


@dataclass(frozen=True)
class _Operation:
    op: str  # AND, OR, ANDNOT
    left: _Term | _Operation
    right: _Term | _Operation


def parse_search_query(query: str) -> _Term | _Operation:
    """The query as a tree of terms and operators; raises QuerySyntaxError."""
    tokens: list[tuple[str, str | tuple[str, str]]] = []
    pos = 0
    query = query.strip()
    while pos < len(query):
        match = _QUERY_TOKEN.match(query, pos)
        if match is None or match.end() == pos:
            raise QuerySyntaxError(f"cannot read the query at {query[pos:]!r}")
        pos = match.end()
        if match["open"]:
            tokens.append(("(", "("))
        elif match["close"]:
            tokens.append((")", ")"))
        elif match["op"]:
            tokens.append(("op", match["op"]))
        else:
            text = match["phrase"] if match["phrase"] is not None else match["word"]
            tokens.append(("term", (match["field"] or "all", text)))
    if not tokens:
        raise QuerySyntaxError("an empty query")
    parser = _QueryParser(tokens)
    tree = parser.either()
    if parser.at < len(tokens):
        raise QuerySyntaxError(f"unexpected {tokens[parser.at][1]!r}")
    return tree


class _QueryParser:
    def __init__(self, tokens: list[tuple[str, str | tuple[str, str]]]) -> None:
        self.tokens = tokens
        self.at = 0

    def _peek(self) -> tuple[str, str | tuple[str, str]] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def either(self) -> _Term | _Operation:
        tree = self.both()
        while (token := self._peek()) is not None and token == ("op", "OR"):
            self.at += 1
            tree = _Operation("OR", tree, self.both())
        return tree

    def both(self) -> _Term | _Operation:
        tree = self.single()
        while (token := self._peek()) is not None and token[0] == "op" and token[1] != "OR":
            self.at += 1
            tree = _Operation(str(token[1]), tree, self.single())
        return tree

    def single(self) -> _Term | _Operation:
        token = self._peek()
        if token is None:
            raise QuerySyntaxError("the query ends where a term was expected")
        self.at += 1
        if token[0] == "(":
            tree = self.either()
            if self._peek() != (")", ")"):
                raise QuerySyntaxError("a parenthesis is not closed")
            self.at += 1
            return tree
        if token[0] != "term" or isinstance(token[1], str):
            raise QuerySyntaxError(f"a term was expected, not {token[1]!r}")
        field, text = token[1]
        words = tuple(_TERM_WORD.findall(text.casefold()))
        if not words:
            raise QuerySyntaxError(f"a term without words: {text!r}")
        return _Term(field, words)


@dataclass(frozen=True)
class _Searchable:
    """An entry's fields as words, for matching terms."""

    ti: tuple[str, ...]
    abs: tuple[str, ...]
    au: tuple[str, ...]

    @classmethod
    def of(cls, xml: str) -> _Searchable:
        def words(text: str) -> tuple[str, ...]:
            return tuple(_TERM_WORD.findall(unescape(text).casefold()))

        title = _ENTRY_TITLE.search(xml)
        summary = _ENTRY_SUMMARY.search(xml)
        names = " ".join(_ENTRY_AUTHOR.findall(xml))
        return cls(
            words(title[1]) if title else (),
            words(summary[1]) if summary else (),
            words(names),
        )

    def matches(self, term: _Term) -> bool:
        fields = ("ti", "abs", "au") if term.field == "all" else (term.field,)
        return any(_holds(getattr(self, name), term.words) for name in fields)


_ENTRY_TITLE = re.compile(r"<title>(.*?)</title>", re.S)
_ENTRY_SUMMARY = re.compile(r"<summary>(.*?)</summary>", re.S)
_ENTRY_AUTHOR = re.compile(r"<name>(.*?)</name>", re.S)


def _holds(words: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    """Whether `phrase` stands in `words`, word after word."""
    n = len(phrase)
    return any(words[i : i + n] == phrase for i in range(len(words) - n + 1))


def _evaluate(tree: _Term | _Operation, entry: _Searchable) -> tuple[bool, int]:
    """Whether the entry answers the query, and how many of its terms it matched (the
    relevance: more matched terms first)."""
    if isinstance(tree, _Term):
        hit = entry.matches(tree)
        return hit, int(hit)
    left, left_score = _evaluate(tree.left, entry)
    right, right_score = _evaluate(tree.right, entry)
    if tree.op == "OR":
        return left or right, left_score + right_score
    if tree.op == "AND":
        return left and right, left_score + right_score
    return left and not right, left_score  # ANDNOT


class _Handler(BaseHTTPRequestHandler):
    server: _LoopbackServer
    protocol_version = "HTTP/1.0"
    timeout = _HANDLER_SOCKET_TIMEOUT

    def do_GET(self) -> None:
        self.server.fake._answer(self)

    def log_message(self, format: str, *args: object) -> None:
        pass


_Request = socket.socket | tuple[bytes, socket.socket]


class _LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True
    # We join handler threads ourselves, with a timeout, in FakeArxiv.close().
    block_on_close = False

    def __init__(self, fake: FakeArxiv) -> None:
        self.fake = fake
        self.handler_threads: list[threading.Thread] = []
        self.open_connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    # socketserver's request is a socket, or a (data, socket) pair for datagram servers;
    # ours is a stream server, so only the first comes, but the overrides accept both.
    def process_request(self, request: _Request, client_address: object) -> None:
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name="FakeArxiv-handler",
            daemon=True,
        )
        with self.connections_lock:
            self.handler_threads = [t for t in self.handler_threads if t.is_alive()]
            self.handler_threads.append(thread)
            if isinstance(request, socket.socket):
                self.open_connections.add(request)
        thread.start()

    def shutdown_request(self, request: _Request) -> None:
        with self.connections_lock:
            if isinstance(request, socket.socket):
                self.open_connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: object, client_address: object) -> None:
        # Clients that time out or disconnect mid-answer are part of the scenarios we stage.
        pass


# Over 300 lines on purpose: a test double of arXiv's whole API surface that tests use (id
# lists, the search grammar, paging, faults and rate limits), kept together like the API.
class FakeArxiv:
    """A loopback arXiv API server. Use as a context manager; ``url`` is the query endpoint.

    >>> with FakeArxiv() as api:            # doctest: +SKIP
    ...     api.add(paper)
    ...     client.query_url_format = api.url + "?{}"
    """

    def __init__(self, *, control: bool = False) -> None:
        """`control`: also answer `/control/...` requests that turn an outage on and off
        (for a client in another process, which cannot call `fail_next`)."""
        self._control = control
        self._outage: int | None = None  # every request fails with this status meanwhile
        self._lock = threading.Lock()
        self._request_arrived = threading.Condition(self._lock)
        self._entries: dict[str, _StoredEntry] = {}
        self._faults: deque[_Fault] = deque()
        self._requests: list[RecordedRequest] = []
        self._stopping = threading.Event()
        self._server: _LoopbackServer | None = None
        self._serve_thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeArxiv:
        if self._server is not None:
            raise RuntimeError("FakeArxiv already started")
        self._stopping.clear()
        self._server = _LoopbackServer(self)
        self._serve_thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": _POLL_INTERVAL},
            name="FakeArxiv-server",
            daemon=True,
        )
        self._serve_thread.start()
        return self

    def close(self) -> None:
        server, serve_thread = self._server, self._serve_thread
        if server is None or serve_thread is None:
            return
        # Wake stalled handlers first so nothing below waits on them.
        self._stopping.set()
        server.shutdown()
        serve_thread.join(_CLOSE_JOIN_TIMEOUT)
        server.server_close()
        with server.connections_lock:
            connections = list(server.open_connections)
            handlers = list(server.handler_threads)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + _CLOSE_JOIN_TIMEOUT
        for handler in handlers:
            handler.join(max(0.0, deadline - time.monotonic()))
        self._server = None
        self._serve_thread = None

    def __enter__(self) -> FakeArxiv:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeArxiv is not running")
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}{API_PATH}"

    # -- content -----------------------------------------------------------------------------

    def add(self, paper: Paper) -> None:
        self._store(_StoredEntry(paper.arxiv_id, paper.version, entry_xml(paper)))

    def add_entry_xml(self, key: str, xml: str) -> None:
        """Serve ``xml`` (one ``<entry>`` element as arXiv writes it) for the canonical ``key``."""
        match = _ENTRY_ID.search(xml)
        split = _split_id(match["id"]) if match else None
        version = split[1] if split else None
        self._store(_StoredEntry(key, version, xml.strip()))

    def load_entries(self, directory: Path) -> int:
        """Serve every ``*.xml`` entry in ``directory``; returns how many were loaded."""
        loaded = 0
        for path in sorted(Path(directory).glob("*.xml")):
            xml = path.read_text(encoding="utf-8")
            match = _ENTRY_ID.search(xml)
            split = _split_id(match["id"]) if match else None
            if split is None:
                raise ValueError(f"{path}: no arXiv <id> found in the entry")
            self.add_entry_xml(split[0], xml)
            loaded += 1
        return loaded

    def _store(self, entry: _StoredEntry) -> None:
        with self._lock:
            self._entries[entry.key] = entry

    # -- observation -------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """Block until at least ``count`` requests arrived; raises TimeoutError otherwise."""
        with self._request_arrived:
            if not self._request_arrived.wait_for(lambda: len(self._requests) >= count, timeout):
                raise TimeoutError(f"{len(self._requests)} requests arrived, expected {count}")
            return list(self._requests)

    # -- fault injection (each queued fault is consumed by one request, in order) ------------

    def fail_next(self, status: int, retry_after: int | None = None, times: int = 1) -> None:
        self._queue(_Fault("fail", status=status, retry_after=retry_after), times)

    def stall_next(self, seconds: float, times: int = 1) -> None:
        self._queue(_Fault("stall", seconds=seconds), times)

    def malformed_next(self, times: int = 1) -> None:
        self._queue(_Fault("malformed"), times)

    def empty_next(self, times: int = 1) -> None:
        self._queue(_Fault("empty"), times)

    def drop_connection_next(self, times: int = 1) -> None:
        self._queue(_Fault("drop"), times)

    def _queue(self, fault: _Fault, times: int) -> None:
        with self._lock:
            self._faults.extend([fault] * times)

    def outage(self, status: int | None) -> None:
        """Every request fails with `status` (503: arXiv down) until `outage(None)`."""
        with self._lock:
            self._outage = status

    def _controlled(self, handler: _Handler, action: str, params: dict[str, list[str]]) -> None:
        if action == "fail":
            try:
                status = int(params.get("status", ["503"])[0])
            except ValueError:
                self._send(handler, 400, b"status must be an integer\n", "text/plain")
                return
            self.outage(status)
        elif action == "recover":
            self.outage(None)
        elif action != "requests":
            self._send(handler, 404, b"Not Found", "text/plain")
            return
        with self._lock:
            answer = {"requests": len(self._requests), "outage": self._outage}
        self._send(handler, 200, json.dumps(answer).encode(), "application/json")

    # -- serving -----------------------------------------------------------------------------

    def _answer(self, handler: _Handler) -> None:
        url = urlsplit(handler.path)
        if self._control and url.path.startswith(CONTROL_PATH):
            params = parse_qs(url.query)
            self._controlled(handler, url.path.removeprefix(CONTROL_PATH), params)
            return
        if url.path != API_PATH:
            self._send(handler, 404, b"Not Found", "text/plain")
            return
        query = _ApiQuery.parse(url.query)
        if query is None:
            self._send(handler, 400, b"start and max_results must be integers", "text/plain")
            return
        fault = self._record(query)
        if fault is not None and self._ended_by(handler, fault):
            return
        status, body = self._query(query)
        if fault is not None:
            body = _spoiled(status, body, fault, query)
        self._send(handler, status, body, _ATOM_TYPE)

    def _record(self, query: _ApiQuery) -> _Fault | None:
        """The request recorded (waiters woken) with the fault it consumes: the next queued
        one, else the outage's."""
        with self._request_arrived:
            fault = self._faults.popleft() if self._faults else None
            if fault is None and self._outage is not None:
                fault = _Fault("fail", status=self._outage)
            self._requests.append(
                RecordedRequest(
                    id_list=tuple(query.id_list),
                    start=query.start,
                    max_results=query.max_results,
                    time=time.monotonic(),
                    search_query=query.search_query,
                    fault=fault.kind if fault else None,
                )
            )
            self._request_arrived.notify_all()
        return fault

    def _ended_by(self, handler: _Handler, fault: _Fault) -> bool:
        """Whether `fault` takes the place of the answer: a dropped connection, an error
        status, or a stall the fake was stopped during. A stall otherwise only delays it."""
        if fault.kind == "stall":
            return self._stopping.wait(fault.seconds)
        if fault.kind == "drop":
            handler.close_connection = True
            return True
        if fault.kind == "fail":
            headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
            body = f"HTTP {fault.status} (injected by FakeArxiv)\n".encode()
            self._send(handler, fault.status, body, "text/plain", headers)
            return True
        return False

    def _query(self, query: _ApiQuery) -> tuple[int, bytes]:
        search_query, id_list = query.search_query, query.id_list
        start, max_results = query.start, query.max_results
        tree = None
        if search_query.strip():
            try:
                tree = parse_search_query(search_query)
            except QuerySyntaxError as exc:
                return 400, str(exc).encode("utf-8")
        if tree is not None and not id_list:
            return 200, self._search(tree, search_query, start, max_results)
        wanted: list[tuple[str, int | None]] = []
        for arxiv_id in id_list:
            split = _split_id(arxiv_id)
            if split is None:
                return 400, _error_feed(arxiv_id)
            wanted.append(split)
        with self._lock:
            entries = self._entries
            found: dict[str, _StoredEntry] = {}
            for key, version in wanted:
                entry = entries.get(key)
                # The fake keeps one version per paper; other versions of it do not exist here.
                if entry is not None and (version is None or version == entry.version):
                    found[key] = entry
        if tree is not None:  # an id_list and a query: the listed papers that answer it
            found = {
                key: entry
                for key, entry in found.items()
                if _evaluate(tree, _Searchable.of(entry.xml))[0]
            }
        ordered = _arxiv_order(list(found.values()), id_list)
        page = ordered[max(0, start) : max(0, start) + max(0, max_results)]
        body = _query_feed(
            search_query=search_query,
            id_list=query.raw_id_list,
            start=start,
            max_results=max_results,
            total=len(ordered),
            entries=[entry.xml for entry in page],
        )
        return 200, body

    def _search(
        self, tree: _Term | _Operation, search_query: str, start: int, max_results: int
    ) -> bytes:
        """Every stored paper that answers the query, most matched terms first, then the
        shorter title (arXiv's relevance weighs a term in a short title more), then by id."""
        with self._lock:
            entries = list(self._entries.values())
        scored = []
        for entry in entries:
            searchable = _Searchable.of(entry.xml)
            hit, score = _evaluate(tree, searchable)
            if hit:
                scored.append((-score, len(searchable.ti), entry.key, entry))
        scored.sort(key=lambda item: item[:3])
        page = scored[max(0, start) : max(0, start) + max(0, max_results)]
        return _query_feed(
            search_query=search_query,
            id_list="",
            start=start,
            max_results=max_results,
            total=len(scored),
            entries=[item[3].xml for item in page],
        )

    def _send(
        self,
        handler: _Handler,
        status: int,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(body)
        except OSError:
            # The client gave up (timeout) or the server is closing; nobody is listening.
            handler.close_connection = True


def main(argv: list[str] | None = None) -> int:
    """Serve the entries of a folder on a loopback port until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(
        prog="python -m vaultpapers.testing.arxiv_server",
        description="A loopback arXiv API for tests: prints its URL as one JSON line.",
    )
    parser.add_argument(
        "--entries",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="a folder of <entry> files as arXiv serves them (*.xml); may be repeated",
    )
    parser.add_argument(
        "--fail", type=int, metavar="STATUS", help="fail every request with this HTTP status"
    )
    args = parser.parse_args(argv)
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    with FakeArxiv(control=True) as api:
        try:
            loaded = sum(api.load_entries(directory) for directory in args.entries)
        except (OSError, ValueError) as exc:
            print(f"arxiv_server: {exc}", file=sys.stderr)
            return 2
        api.outage(args.fail)
        print(json.dumps({"url": api.url, "entries": loaded}), flush=True)
        while not stop.wait(0.2):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
