"""The loopback arXiv API serves what arXiv serves, and misbehaves on request."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from lxml import etree

from factories import feed_paper, make_paper
from paths import REPO
from vaultpapers.testing import FakeArxiv, entry_xml

RECORDED = Path(os.environ.get("VAULTPAPERS_RECORDED_API", "/work/shared/arxiv-api-recorded"))
needs_recordings = pytest.mark.skipif(
    not RECORDED.is_dir(), reason=f"recorded arXiv responses not found at {RECORDED}"
)

ATOM = "{http://www.w3.org/2005/Atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
# Per-response values: a hash of the query and the time of answering.
VOLATILE = {f"{ATOM}feed/{ATOM}id", f"{ATOM}feed/{ATOM}updated"}

RECORDED_QUERIES = {
    "id_1605.08386_s0_m100_199195aa31ad.body.xml": "1605.08386",
    "id_0000.0000_s0_m100_8b51d9633a68.body.xml": "0000.0000",
    "id_0808.05394_1707.08567_s0_m100_42e5aa0ec3af.body.xml": "0808.05394,1707.08567",
    "id_2104.12255v1_s0_m100_6ae69987ffe1.body.xml": "2104.12255v1",
    "id_astro-ph_0601001_s0_m100_3150dca9dc76.body.xml": "astro-ph/0601001",
    "id_quant-ph_0201082v1_s0_m100_86989fe779ef.body.xml": "quant-ph/0201082v1",
}


def recorded_entries() -> dict[str, str]:
    """Canonical key -> ``<entry>`` text of every paper in the recorded responses."""
    entries = {}
    for path in sorted(RECORDED.glob("*.xml")):
        for entry in re.findall(r"<entry>.*?</entry>", path.read_text(encoding="utf-8"), re.S):
            match = re.search(r"<id>https?://arxiv\.org/abs/(.+?)v\d+</id>", entry)
            if match:
                entries[match[1]] = entry
    return entries


def query(api: FakeArxiv | _Served, id_list: str, **params: object) -> requests.Response:
    arguments = {
        "search_query": "",
        "id_list": id_list,
        "sortBy": "relevance",
        "sortOrder": "descending",
        "start": 0,
        "max_results": 100,
    }
    arguments.update(params)
    return requests.get(api.url, params=arguments, timeout=5)


Shape = list[tuple[str, tuple[tuple[str, str], ...], str | None]]


def shape(body: bytes) -> Shape:
    """Every element in document order: path, attributes, text (None where volatile)."""
    root = etree.fromstring(body)
    tree = root.getroottree()
    elements: Shape = []
    for element in root.iter():
        path = re.sub(r"\[\d+\]", "", tree.getelementpath(element))
        path = f"{root.tag}/{path}" if path != "." else root.tag
        text = None if path in VOLATILE else (element.text or "").strip()
        elements.append((path, tuple(sorted(element.attrib.items())), text))
    return elements


def entry_keys(body: bytes) -> list[str]:
    root = etree.fromstring(body)
    return [element.text or "" for element in root.iterfind(f"{ATOM}entry/{ATOM}id")]


@needs_recordings
@pytest.mark.parametrize("recording", sorted(RECORDED_QUERIES))
def test_answers_are_shaped_exactly_like_the_recorded_responses(
    fake_arxiv: FakeArxiv, recording: str
) -> None:
    for key, entry in recorded_entries().items():
        fake_arxiv.add_entry_xml(key, entry)

    response = query(fake_arxiv, RECORDED_QUERIES[recording])

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/atom+xml")
    assert shape(response.content) == shape((RECORDED / recording).read_bytes())


@needs_recordings
def test_a_malformed_id_gets_http_400_with_arxivs_error_entry(fake_arxiv: FakeArxiv) -> None:
    response = query(fake_arxiv, "abc")

    assert response.status_code == 400
    recorded = (RECORDED / "id_abc_s0_m100_b79c8dcf6bc3.body.xml").read_bytes()

    def without_times(body: bytes) -> Shape:
        return [(p, a, None if p.endswith("updated") else t) for p, a, t in shape(body)]

    assert without_times(response.content) == without_times(recorded)


def test_a_malformed_id_anywhere_in_the_list_rejects_the_whole_query(fake_arxiv: FakeArxiv) -> None:
    fake_arxiv.add(feed_paper("2101.00001"))

    response = query(fake_arxiv, "2101.00001,not-an-id,2101.00002")

    assert response.status_code == 400
    assert entry_keys(response.content) == [
        "https://arxiv.org/api/errors#incorrect_id_format_for_not-an-id"
    ]


def test_a_rendered_paper_has_the_recorded_entry_shape(fake_arxiv: FakeArxiv) -> None:
    paper = feed_paper(
        "1605.08386",
        title="Heat-bath random walks with Markov bases",
        authors=("Caprice Stanley", "Tobias Windisch"),
        categories=("math.CO", "math.ST"),
        primary_category="math.CO",
        comment="20 pages, 3 figures",
    )
    fake_arxiv.add(paper)

    served = shape(query(fake_arxiv, "1605.08386").content)

    if RECORDED.is_dir():
        recorded = shape((RECORDED / "id_1605.08386_s0_m100_199195aa31ad.body.xml").read_bytes())
        assert [(path, [name for name, _ in attrs]) for path, attrs, _ in served] == [
            (path, [name for name, _ in attrs]) for path, attrs, _ in recorded
        ]
    texts = {path: text for path, _, text in served}
    assert texts[f"{ATOM}feed/{ATOM}entry/{ATOM}id"] == "http://arxiv.org/abs/1605.08386v1"
    assert texts[f"{ATOM}feed/{ATOM}entry/{ATOM}published"] == "2021-01-02T03:04:05Z"


def test_entry_xml_escapes_markup_in_text_and_attributes() -> None:
    paper = feed_paper(
        "2101.00001",
        title='Why a < b & "c" > d',
        authors=("O'Brien & Sons <Ltd>",),
        summary="x<y && y>z",
        primary_category='cs."LG"',
        categories=('cs."LG"',),
        comment="<b>bold</b>",
        journal_ref="J. A&B 1",
        doi="10.1000/a<b>",
    )
    namespaces = 'xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom"'
    entry = etree.fromstring(entry_xml(paper).replace("<entry>", f"<entry {namespaces}>", 1))

    arxiv_ns = "{http://arxiv.org/schemas/atom}"
    assert entry.findtext(f"{ATOM}title") == 'Why a < b & "c" > d'
    assert entry.findtext(f"{ATOM}author/{ATOM}name") == "O'Brien & Sons <Ltd>"
    assert entry.findtext(f"{ATOM}summary") == "x<y && y>z"
    assert entry.find(f"{ATOM}category").get("term") == 'cs."LG"'
    assert entry.findtext(f"{arxiv_ns}comment") == "<b>bold</b>"
    assert entry.findtext(f"{arxiv_ns}journal_ref") == "J. A&B 1"
    assert entry.findtext(f"{arxiv_ns}doi") == "10.1000/a<b>"


def test_optional_fields_are_left_out_when_absent() -> None:
    xml = entry_xml(feed_paper("2101.00001"))

    assert "arxiv:comment" not in xml
    assert "arxiv:journal_ref" not in xml
    assert "arxiv:doi" not in xml


def test_unknown_ids_are_simply_absent(fake_arxiv: FakeArxiv) -> None:
    fake_arxiv.add(feed_paper("2101.00001"))

    response = query(fake_arxiv, "2101.00001,2101.99999,hep-th/9999999")

    assert response.status_code == 200
    assert entry_keys(response.content) == ["http://arxiv.org/abs/2101.00001v1"]


def test_ids_match_with_or_without_version_and_subject_class(fake_arxiv: FakeArxiv) -> None:
    fake_arxiv.add(feed_paper("math/0309136", version=2))
    fake_arxiv.add(feed_paper("2101.00001", version=3))

    def served(id_list: str) -> list[str]:
        return entry_keys(query(fake_arxiv, id_list).content)

    assert served("math/0309136") == ["http://arxiv.org/abs/math/0309136v2"]
    assert served("math.GT/0309136v2") == ["http://arxiv.org/abs/math/0309136v2"]
    assert served("2101.00001v3") == ["http://arxiv.org/abs/2101.00001v3"]
    # The fake keeps one version per paper: it knows no other version.
    assert served("2101.00001v1") == []


def test_entries_come_in_a_shuffled_but_reproducible_order(fake_arxiv: FakeArxiv) -> None:
    keys = [f"2101.{n:05d}" for n in range(1, 21)]
    for key in keys:
        fake_arxiv.add(feed_paper(key))

    first = entry_keys(query(fake_arxiv, ",".join(keys)).content)
    second = entry_keys(query(fake_arxiv, ",".join(keys)).content)

    in_request_order = [f"http://arxiv.org/abs/{key}v1" for key in keys]
    assert sorted(first) == sorted(in_request_order)
    assert first != in_request_order
    assert first == second


def test_start_and_max_results_page_through_the_results(fake_arxiv: FakeArxiv) -> None:
    keys = [f"2101.{n:05d}" for n in range(1, 6)]
    for key in keys:
        fake_arxiv.add(feed_paper(key))

    pages = [query(fake_arxiv, ",".join(keys), start=start, max_results=2) for start in (0, 2, 4)]

    roots = [etree.fromstring(page.content) for page in pages]
    assert [root.findtext(f"{OPENSEARCH}totalResults") for root in roots] == ["5", "5", "5"]
    assert [root.findtext(f"{OPENSEARCH}startIndex") for root in roots] == ["0", "2", "4"]
    served = [key for page in pages for key in entry_keys(page.content)]
    assert [len(entry_keys(page.content)) for page in pages] == [2, 2, 1]
    assert sorted(served) == [f"http://arxiv.org/abs/{key}v1" for key in keys]


def test_every_request_is_recorded_with_its_parsed_parameters(fake_arxiv: FakeArxiv) -> None:
    before = time.monotonic()
    query(fake_arxiv, "2101.00001,astro-ph/0601001", start=3, max_results=7)

    (recorded,) = fake_arxiv.requests
    assert recorded.id_list == ("2101.00001", "astro-ph/0601001")
    assert (recorded.start, recorded.max_results) == (3, 7)
    assert before <= recorded.time <= time.monotonic()
    assert recorded.fault is None


@needs_recordings
def test_load_entries_serves_a_folder_of_entry_files(fake_arxiv: FakeArxiv, tmp_path: Path) -> None:
    for n, entry in enumerate(recorded_entries().values()):
        (tmp_path / f"entry{n}.xml").write_text(entry, encoding="utf-8")

    loaded = fake_arxiv.load_entries(tmp_path)

    response = query(fake_arxiv, "1111.2011,astro-ph/0601001,quant-ph/0201082")
    assert loaded == len(recorded_entries())
    assert sorted(entry_keys(response.content)) == [
        "http://arxiv.org/abs/1111.2011v2",
        "http://arxiv.org/abs/astro-ph/0601001v1",
        "http://arxiv.org/abs/quant-ph/0201082v1",
    ]


def test_injected_failures_are_consumed_one_request_each(fake_arxiv: FakeArxiv) -> None:
    fake_arxiv.add(feed_paper("2101.00001"))
    fake_arxiv.fail_next(429, retry_after=7)
    fake_arxiv.fail_next(503, times=2)

    statuses = [query(fake_arxiv, "2101.00001") for _ in range(4)]

    assert [response.status_code for response in statuses] == [429, 503, 503, 200]
    assert statuses[0].headers["Retry-After"] == "7"
    assert "Retry-After" not in statuses[1].headers
    assert [r.fault for r in fake_arxiv.requests] == ["fail", "fail", "fail", None]


def test_malformed_next_sends_a_truncated_body_with_status_200(fake_arxiv: FakeArxiv) -> None:
    fake_arxiv.add(feed_paper("2101.00001"))
    fake_arxiv.malformed_next()

    response = query(fake_arxiv, "2101.00001")

    assert response.status_code == 200
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(response.content)
    assert query(fake_arxiv, "2101.00001").status_code == 200


def test_empty_next_sends_a_valid_feed_without_the_entries(fake_arxiv: FakeArxiv) -> None:
    fake_arxiv.add(feed_paper("2101.00001"))
    fake_arxiv.empty_next()

    empty = query(fake_arxiv, "2101.00001")
    full = query(fake_arxiv, "2101.00001")

    assert empty.status_code == 200
    assert entry_keys(empty.content) == []
    assert etree.fromstring(empty.content).findtext(f"{OPENSEARCH}totalResults") == "0"
    assert entry_keys(full.content) == ["http://arxiv.org/abs/2101.00001v1"]


def test_drop_connection_next_closes_without_answering(fake_arxiv: FakeArxiv) -> None:
    fake_arxiv.drop_connection_next()

    with pytest.raises(requests.ConnectionError):
        query(fake_arxiv, "2101.00001")
    assert query(fake_arxiv, "2101.00001").status_code == 200


def test_stall_next_delays_the_answer(fake_arxiv: FakeArxiv) -> None:
    fake_arxiv.stall_next(0.3)

    started = time.monotonic()
    response = query(fake_arxiv, "2101.00001")

    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3


def test_close_is_prompt_with_a_stalled_request_in_flight() -> None:
    api = FakeArxiv().start()
    api.stall_next(60)
    outcome: list[object] = []

    def ask() -> None:
        try:
            outcome.append(requests.get(api.url, params={"id_list": "2101.00001"}, timeout=30))
        except requests.RequestException as exc:
            outcome.append(exc)

    client = threading.Thread(target=ask)
    client.start()
    api.wait_for_requests(1)

    started = time.monotonic()
    api.close()
    closing_took = time.monotonic() - started
    client.join(5)

    assert closing_took < 2
    assert not client.is_alive()
    assert isinstance(outcome[0], requests.RequestException)
    assert not [t for t in threading.enumerate() if t.name.startswith("FakeArxiv")]


def test_other_paths_are_not_found(fake_arxiv: FakeArxiv) -> None:
    response = requests.get(fake_arxiv.url.replace("/api/query", "/abs/2101.00001"), timeout=5)

    assert response.status_code == 404


# -- on its own: `python -m vaultpapers.testing.arxiv_server` (clients in other processes) ---


class _Served:
    """A loopback arXiv running in its own process, as a client's tests start it."""

    def __init__(self, *args: str) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "vaultpapers.testing.arxiv_server", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        # The first line is all a client waits for: it is printed once the port is open.
        first = self.process.stdout.readline()
        self.announced = json.loads(first)
        self.url: str = self.announced["url"]

    def control(self, action: str, **params: object) -> dict:
        answer = requests.get(self.url.replace("/api/query", f"/control/{action}"), params=params)
        assert answer.status_code == 200
        return answer.json()

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(10)

    def __enter__(self) -> _Served:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@needs_recordings
def test_run_on_its_own_it_serves_a_folder_of_entries_as_arxiv_does(tmp_path: Path) -> None:
    for key, entry in recorded_entries().items():
        (tmp_path / f"{key.replace('/', '_')}.xml").write_text(entry, encoding="utf-8")
    with _Served("--entries", str(tmp_path)) as served:
        assert served.announced["entries"] == len(recorded_entries())
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/api/query", served.url)
        for recording, id_list in RECORDED_QUERIES.items():
            response = query(served, id_list)
            assert response.status_code == 200
            assert shape(response.content) == shape((RECORDED / recording).read_bytes())
        assert served.control("requests")["requests"] == len(RECORDED_QUERIES)
        assert served.stop() == 0


def test_run_on_its_own_an_outage_is_switched_on_and_off(tmp_path: Path) -> None:
    with _Served("--entries", str(REPO / "examples" / "arxiv-entries"), "--fail", "503") as served:
        assert query(served, "2103.03206").status_code == 503
        assert served.control("recover") == {"requests": 1, "outage": None}
        answer = query(served, "2103.03206")
        assert answer.status_code == 200
        assert entry_keys(answer.content) == ["http://arxiv.org/abs/2103.03206v2"]
        assert served.control("fail", status=429)["outage"] == 429
        assert query(served, "2103.03206").status_code == 429
        assert served.stop() == 0
        assert served.process.stderr is not None and served.process.stderr.read() == ""


# -- search_query: arXiv's grammar ------------------------------------------------------------


def _paper(key: str, title: str, summary: str = "We study a problem.", authors=("A. Author",)):
    return make_paper(key, title, summary, published="2020-01-02", authors=tuple(authors))


SEARCHABLE = (
    _paper("1512.03385", "Deep Residual Learning for Image Recognition", authors=("Kaiming He",)),
    _paper("2006.11239", "Denoising Diffusion Probabilistic Models", "Diffusion for images."),
    _paper("2010.02502", "Denoising Diffusion Implicit Models", authors=("Jiaming Song",)),
    _paper("1706.03762", "Attention Is All You Need", "Transformers replace recurrence."),
    _paper("2105.01601", "MLP-Mixer: An all-MLP Architecture for Vision"),
)


def search(api: FakeArxiv, search_query: str, **params: object) -> tuple[int, list[str], int]:
    """(HTTP status, ids in the order served, totalResults) of a search."""
    response = query(api, "", search_query=search_query, **params)
    if response.status_code != 200:
        return response.status_code, [], 0
    root = etree.fromstring(response.content)
    ids = [
        re.sub(r"^https?://arxiv\.org/abs/|v\d+$", "", e.findtext(f"{ATOM}id"))
        for e in root.iter(f"{ATOM}entry")
    ]
    return 200, ids, int(root.findtext(f"{OPENSEARCH}totalResults"))


@pytest.fixture
def library(fake_arxiv: FakeArxiv) -> FakeArxiv:
    for paper in SEARCHABLE:
        fake_arxiv.add(paper)
    return fake_arxiv


@pytest.mark.parametrize(
    ("search_query", "expected"),
    [
        ("ti:denoising", {"2006.11239", "2010.02502"}),
        ('ti:"denoising diffusion implicit"', {"2010.02502"}),
        ('ti:"diffusion denoising"', set()),  # a phrase keeps its word order
        ("ti:DENOISING AND ti:implicit", {"2010.02502"}),
        ("ti:denoising ANDNOT ti:implicit", {"2006.11239"}),
        ('ti:"attention is all you need" OR ti:residual', {"1706.03762", "1512.03385"}),
        ("ti:denoising AND (ti:implicit OR ti:probabilistic)", {"2006.11239", "2010.02502"}),
        ("ti:residual OR ti:mixer AND ti:vision", {"1512.03385", "2105.01601"}),
        ("(ti:residual OR ti:mixer) AND ti:recognition", {"1512.03385"}),
        ("abs:recurrence", {"1706.03762"}),
        ("au:song", {"2010.02502"}),
        ("all:images", {"2006.11239"}),
        ("images", {"2006.11239"}),  # a bare term searches every field
        ("ti:mlp", {"2105.01601"}),  # punctuation in titles separates words
        ("ti:images", set()),  # the title only
    ],
)
def test_search_query_follows_arxivs_grammar(
    library: FakeArxiv, search_query: str, expected: set[str]
) -> None:
    status, ids, total = search(library, search_query)
    assert status == 200
    assert set(ids) == expected
    assert total == len(expected)


def test_search_results_come_most_matched_terms_first(library: FakeArxiv) -> None:
    query_ = 'ti:denoising OR ti:implicit OR ti:"attention is all you need"'
    _, ids, _ = search(library, query_)
    assert ids[0] == "2010.02502"  # two terms matched
    assert ids == search(library, query_)[1]  # and the same order every time


def test_search_pages_with_start_and_max_results(library: FakeArxiv) -> None:
    query_ = "ti:denoising OR ti:residual OR ti:attention"
    _, everything, total = search(library, query_)
    _, first, _ = search(library, query_, start=0, max_results=2)
    _, rest, page_total = search(library, query_, start=2, max_results=2)
    assert total == page_total == 4
    assert first + rest == everything


def test_a_search_feed_carries_its_query_like_arxivs(library: FakeArxiv) -> None:
    response = query(library, "", search_query='ti:"denoising diffusion"', max_results=5)
    root = etree.fromstring(response.content)
    assert 'search_query=ti:"denoising diffusion"' in root.findtext(f"{ATOM}title")
    assert root.findtext(f"{OPENSEARCH}itemsPerPage") == "5"
    assert 'search_query=ti:"denoising diffusion"' in root.find(f"{ATOM}link").get("href")


def test_a_query_and_an_id_list_answer_the_listed_papers_that_match(library: FakeArxiv) -> None:
    response = query(library, "2006.11239,2010.02502,1512.03385", search_query="ti:denoising")
    served = re.findall(r"<id>http://arxiv\.org/abs/(\S+?)v\d</id>", response.text)
    assert sorted(served) == ["2006.11239", "2010.02502"]


@pytest.mark.parametrize("bad", ["ti:(", "ti:a AND", "(ti:a", "ti:a OR OR ti:b", 'ti:"!!"'])
def test_a_query_the_grammar_cannot_read_gets_http_400(library: FakeArxiv, bad: str) -> None:
    assert search(library, bad)[0] == 400
