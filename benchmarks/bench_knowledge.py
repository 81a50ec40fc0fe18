"""Knowledge-base search: latency and ranking quality against a ``LIKE '%...%'`` scan.

    python benchmarks/bench_knowledge.py [--n 10000] [--repeat 5] [--pg URL]

N generated articles (half Chinese, half English; tests/knowledge/corpus.py)
are published in a fresh tenant, then each of the labelled queries (>= 30,
Chinese and English, each about one topic) runs through
``crmcore.services.search_articles`` (BM25 in the engine: SQLite FTS5, and
PostgreSQL when ``--pg`` or ``CRMCORE_TEST_POSTGRES_URL`` names a server)
and through the plain scan a CRM without full-text search does: ``title
LIKE '%q%' OR body LIKE '%q%'`` over published articles (title hits first).

Reported per backend: median and p99 latency of a search (``limit=10``),
and the mean reciprocal rank (MRR@10: 1 / rank of the first article on the
query's topic, 0 if none in the top 10), for both; the ratios compare them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

import crmcore
from crmcore import Principal
from crmcore.model import KnowledgeArticle
from crmcore.services import reindex_articles, search_articles

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.knowledge.corpus import QUERIES, generate


def load(crm: crmcore.Crm, principal: Principal, n: int) -> dict[uuid.UUID, str]:
    """Publish N articles in bulk (add_many + reindex); returns article id -> topic."""
    rows = generate(n)
    topic_of: dict[uuid.UUID, str] = {}
    articles = []
    for topic, title, body, language in rows:
        a = KnowledgeArticle(title=title, body=body, language=language, status="published")
        topic_of[a.id] = topic
        articles.append(a)
    with crm.session(principal) as s:
        for i in range(0, len(articles), 2000):
            s.repo(KnowledgeArticle).add_many(articles[i : i + 2000])
    with crm.session(principal) as s:
        indexed = reindex_articles(s)
    assert indexed == n, (indexed, n)
    return topic_of


def like_search(engine: sa.Engine, tenant: str, text: str, limit: int) -> list[uuid.UUID]:
    """The naive scan: the whole query as a substring of title or body."""
    pattern = f"%{text}%"
    sql = sa.text(
        "SELECT id FROM articles WHERE tenant_id = :t AND status = 'published'"
        " AND (title LIKE :p OR body LIKE :p)"
        " ORDER BY CASE WHEN title LIKE :p THEN 0 ELSE 1 END, id LIMIT :n"
    )
    with engine.connect() as conn:
        return [
            r[0] if isinstance(r[0], uuid.UUID) else uuid.UUID(str(r[0]))
            for r in conn.execute(sql, {"t": tenant, "p": pattern, "n": limit})
        ]


def mrr(results: list[list[uuid.UUID]], topic_of: dict[uuid.UUID, str]) -> float:
    total = 0.0
    for ids, (_q, topic) in zip(results, QUERIES, strict=True):
        for rank, id in enumerate(ids, 1):
            if topic_of.get(id) == topic:
                total += 1 / rank
                break
    return total / len(QUERIES)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(name: str, url: str, n: int, repeat: int) -> None:
    crm = crmcore.connect(url, validation=False)
    tenant = f"bench-{uuid.uuid4().hex[:8]}"
    principal = Principal.system_principal(tenant)
    t0 = time.perf_counter()
    topic_of = load(crm, principal, n)
    loaded = time.perf_counter() - t0
    engine = crm.store.engine  # type: ignore[attr-defined]
    bm25_times: list[float] = []
    like_times: list[float] = []
    bm25_results: list[list[uuid.UUID]] = []
    like_results: list[list[uuid.UUID]] = []
    with crm.session(principal) as s:
        search_articles(s, "warmup 预热")  # creates the engine's index objects on first use
        for r in range(repeat):
            for q, _topic in QUERIES:
                t = time.perf_counter()
                hits = search_articles(s, q, limit=10)
                bm25_times.append(time.perf_counter() - t)
                t = time.perf_counter()
                scanned = like_search(engine, tenant, q, 10)
                like_times.append(time.perf_counter() - t)
                if r == 0:
                    bm25_results.append([m.article.id for m in hits])
                    like_results.append(scanned)
    crm.close()
    m_bm25, m_like = mrr(bm25_results, topic_of), mrr(like_results, topic_of)
    med_b, p99_b = statistics.median(bm25_times) * 1e3, pct(bm25_times, 0.99) * 1e3
    med_l, p99_l = statistics.median(like_times) * 1e3, pct(like_times, 0.99) * 1e3
    print(
        f"{name}: {n} articles loaded and indexed in {loaded:.1f}s;"
        f" {len(QUERIES)} queries x {repeat}"
    )
    print(f"  BM25 search : median {med_b:7.2f} ms  p99 {p99_b:7.2f} ms  MRR@10 {m_bm25:.3f}")
    print(f"  LIKE scan   : median {med_l:7.2f} ms  p99 {p99_l:7.2f} ms  MRR@10 {m_like:.3f}")
    print(
        f"  ratio       : latency x{med_b / med_l:.2f} of the scan (median),"
        f" MRR {m_bm25 / m_like if m_like else float('inf'):.2f}x the scan's"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=10_000, help="articles to generate")
    ap.add_argument("--repeat", type=int, default=5, help="runs of the query set")
    ap.add_argument(
        "--pg", default=os.environ.get("CRMCORE_TEST_POSTGRES_URL"), help="PostgreSQL URL"
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run("SQLite (FTS5)", f"sqlite:///{Path(tmp) / 'kb.db'}", args.n, args.repeat)
    if args.pg:
        try:
            run("PostgreSQL (GIN + SQL BM25)", args.pg, args.n, args.repeat)
        except crmcore.errors.StorageError as exc:
            print(f"PostgreSQL skipped: {exc}")


if __name__ == "__main__":
    main()
