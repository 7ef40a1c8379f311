"""Chinese full-text search over showcase items and board posts.

Chinese is written without spaces, so text is segmented into words by jieba before it is indexed: ``index()`` stores
the words of an object (search-engine mode, which also emits the shorter words inside a compound, so
智慧社区服务平台 is stored as 智慧 / 社区 / 服务 / 平台 / 服务平台) and, because jieba may cut a word differently
inside a sentence than on its own (…社区的线上服务… gives 的 / 线 / 上), every pair of adjacent Chinese characters too.
A query is segmented the same way; each of its smallest words must occur, a longer Chinese word as its character
pairs, so 智慧社区 finds 智慧社区服务平台 and 线上服务 finds …的线上服务…. The database's own engine does the
matching and the ranking — SQLite's FTS5 (bm25) or PostgreSQL's GIN-indexed tsvector (ts_rank): migrations 0002
and 0003."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from functools import cache

import jieba  # type: ignore[import-untyped]  # no stubs published
from django.db import connection

from .models import SearchDocument

# Words that carry no meaning on their own (particles and the like) and punctuation are not indexed.
STOP_WORDS = frozenset({"的", "了", "和", "与", "及", "或", "在", "是", "为", "对", "把", "被", "等", "之", "其"})
WORD = re.compile(r"\w", re.UNICODE)
HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")  # runs of Chinese characters


@cache
def _tokenizer() -> jieba.Tokenizer:
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


def words(text: str) -> list[str]:
    """Every word of ``text`` for the index: jieba's search-engine mode, lower-cased, without punctuation."""
    found = []
    for word in _tokenizer().cut_for_search(text or ""):
        word = word.strip().lower()
        if word and WORD.search(word) and word not in STOP_WORDS:
            found.append(word)
    return found


def pairs(text: str) -> list[str]:
    """Every two adjacent Chinese characters of ``text`` (智慧社区 → 智慧, 慧社, 社区)."""
    return [run[i : i + 2] for run in HAN.findall(text or "") for i in range(len(run) - 1)]


def query_words(query: str) -> list[str]:
    """The smallest words of a query (a compound the query also yields is dropped: its parts are enough); a
    Chinese word of three characters or more is looked for as its character pairs."""
    candidates = list(dict.fromkeys(words(query[:200])))
    smallest = [w for w in candidates if not any(o != w and o in w for o in candidates)]
    terms = [p for w in smallest for p in (pairs(w) if HAN.fullmatch(w) and len(w) > 2 else [w])]
    return list(dict.fromkeys(terms))[:16]


def index(kind: str, ref: int, texts: Iterable[str]) -> None:
    """(Re)index one object; call inside the service's transaction."""
    texts = list(texts)
    found = [w for text in texts for w in words(text)]
    known = set(found)
    found += [p for text in texts for p in pairs(text) if p not in known]
    body = " ".join(found)
    SearchDocument.objects.update_or_create(kind=kind, ref=ref, defaults={"body": body})


def unindex(kind: str, ref: int) -> None:
    SearchDocument.objects.filter(kind=kind, ref=ref).delete()


def search(kind: str, query: str, *, any_word: bool = False, limit: int = 500) -> list[tuple[int, float]]:
    """The refs of ``kind`` matching ``query``, best first, with their relevance (higher is better).
    All the query's words must occur, or any one of them with ``any_word`` (used to suggest matches)."""
    terms = query_words(query)
    if not terms:
        return []
    if connection.vendor == "postgresql":
        return _search_postgresql(kind, terms, any_word, limit)
    return _search_sqlite(kind, terms, any_word, limit)


def _search_sqlite(kind: str, terms: list[str], any_word: bool, limit: int) -> list[tuple[int, float]]:
    expression = (" OR " if any_word else " AND ").join('"' + t.replace('"', '""') + '"' for t in terms)
    sql = (
        "SELECT d.ref, -bm25(portal_search_fts) AS score FROM portal_search_fts "
        "JOIN portal_searchdocument d ON d.id = portal_search_fts.rowid "
        "WHERE portal_search_fts MATCH %s AND d.kind = %s ORDER BY score DESC, d.ref DESC LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [expression, kind, limit])
        return [(int(ref), float(score)) for ref, score in cursor.fetchall()]


def _search_postgresql(kind: str, terms: list[str], any_word: bool, limit: int) -> list[tuple[int, float]]:
    # The stored words are space-separated, so the 'simple' configuration (no stemming, no stop words) keeps them
    # as they are, with their positions for ts_rank; each query word is quoted, so it is a word, never syntax.
    expression = (" | " if any_word else " & ").join("'" + t.replace("\\", "").replace("'", "''") + "'" for t in terms)
    sql = (
        "SELECT ref, ts_rank(to_tsvector('simple', body), q) AS score "
        "FROM portal_searchdocument, to_tsquery('simple', %s) q "
        "WHERE kind = %s AND to_tsvector('simple', body) @@ q "
        "ORDER BY score DESC, ref DESC LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [expression, kind, limit])
        return [(int(ref), float(score)) for ref, score in cursor.fetchall()]
