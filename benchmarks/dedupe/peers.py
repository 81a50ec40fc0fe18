"""crmcore and its peers (Splink, recordlinkage) run the same way on the same data.

All three get the same input: the peers get the columns crmcore's own
normaliser produces (E.164 phones, e-mail match keys, ISO dates, transliterated
names split into forename and surname, normalised address/postcode/city), so the
comparison is about matching, not about cleaning. Each runs unsupervised, with
the blocking and comparisons a careful user would set up.

Splink: DuckDB backend, ``estimate_probability_two_random_records_match`` on
deterministic rules, ``estimate_u_using_random_sampling``, then EM sessions
blocked on name, date of birth and phone; predictions are taken at match
probability 0.5 and 0.9 and the better F1 is reported.
recordlinkage: ``Index.block`` on the same keys, ``Compare`` with binary
features, then ``ECMClassifier`` and ``KMeansClassifier``; the better is reported.

Two-table linkage (``link=``): Splink with ``link_type="link_only"`` over the two
frames, recordlinkage indexing and comparing ``(frame A, frame B)``.

Needs ``pip install splink duckdb recordlinkage`` (bench-only dependencies). They
pin ``pandas<3``: when they live in another virtualenv, :func:`run_peers_elsewhere`
runs this file there (``python peers.py --run IN.json OUT.json``) on the frames
written as JSON, and reads the pairs back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from typing import Any

__all__ = [
    "peer_frame",
    "prf",
    "run_crmcore",
    "run_naive",
    "run_peers_elsewhere",
    "run_recordlinkage",
    "run_splink",
]

Pair = tuple[str, str]


def prf(found: Iterable[Pair], truth: set[Pair]) -> dict[str, float]:
    """Pair precision, recall and F1."""
    found = set(found)
    hit = len(found & truth)
    p = hit / len(found) if found else 0.0
    r = hit / len(truth) if truth else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f, "pairs": float(len(found))}


def _pairs(a: Iterable[Any], b: Iterable[Any]) -> set[Pair]:
    out = set()
    for x, y in zip(a, b, strict=True):
        x, y = str(x), str(y)
        out.add((x, y) if x < y else (y, x))
    return out


def run_crmcore(records: list[dict[str, Any]], **kwargs: Any) -> tuple[set[Pair], float, Any]:
    """crmcore at its defaults: (match pairs, seconds, result)."""
    from crmcore.dedupe import find_duplicates

    t = time.perf_counter()
    res = find_duplicates(records, **kwargs)
    return {(str(p.left), str(p.right)) for p in res.pairs}, time.perf_counter() - t, res


def run_naive(records: list[dict[str, Any]], threshold: float = 85.0) -> tuple[set[Pair], float]:
    """The floor: naive blocking and one rapidfuzz batch score, from raw records.

    Keys: the e-mail, the last 8 phone digits, the name's sorted words; every
    pair sharing a key (blocks of up to 50) is scored once with
    ``token_sort_ratio`` over "name e-mail phone birth date" and kept at or
    above ``threshold``. No cleaning beyond case and digits, no model: what a
    hand-written script does, so its time is the floor a full pipeline is
    measured against (its accuracy is not the point).
    """
    import numpy as np
    from rapidfuzz.fuzz import token_sort_ratio
    from rapidfuzz.process import cpdist

    t = time.perf_counter()
    ids = [str(r["id"]) for r in records]
    texts = []
    blocks: dict[tuple[int, str], list[int]] = {}
    for i, r in enumerate(records):
        name = " ".join(
            str(r.get(k) or "") for k in ("first_name", "last_name", "full_name")
        ).lower()
        words = " ".join(sorted(name.split()))
        email = str(r.get("email") or "").strip().lower()
        digits = "".join(c for c in str(r.get("phone") or "") if c.isdigit())[-8:]
        texts.append(f"{words} {email} {digits} {r.get('date_of_birth') or ''}")
        for k, key in enumerate((email, digits, words)):
            if key:
                blocks.setdefault((k, key), []).append(i)
    by_size: dict[int, list[list[int]]] = {}
    for members in blocks.values():
        if 2 <= len(members) <= 50:
            by_size.setdefault(len(members), []).append(members)
    codes = [np.zeros(0, dtype=np.int64)]
    for size, groups in by_size.items():
        a, b = np.triu_indices(size, 1)
        rows = np.asarray(groups, dtype=np.int64)
        codes.append((rows[:, a] * len(records) + rows[:, b]).ravel())
    code = np.unique(np.concatenate(codes))
    lo, hi = code // max(len(records), 1), code % max(len(records), 1)
    arr = np.asarray(texts, dtype=object)
    score = cpdist(arr[lo], arr[hi], scorer=token_sort_ratio, score_cutoff=threshold, workers=-1)
    hit = np.flatnonzero(score >= threshold)
    found = _pairs((ids[i] for i in lo[hit].tolist()), (ids[i] for i in hi[hit].tolist()))
    return found, time.perf_counter() - t


def _name_parts(rec: dict[str, Any]) -> tuple[str | None, str | None]:
    from crmcore.validation import name_match_key, split_name

    def key(text: str | None) -> str | None:
        if not text:
            return None
        try:
            return name_match_key(text) or None
        except ValueError:
            return None

    first, last = rec.get("first_name"), rec.get("last_name")
    if first or last:
        return key(first), key(last)
    full = rec.get("full_name")
    if not full:
        return None, None
    try:
        parts = split_name(full)
    except ValueError:
        return None, None
    return key(parts.given), key(parts.family)


def peer_frame(records: list[dict[str, Any]]) -> Any:
    """The peers' input: crmcore-normalised columns as a pandas DataFrame."""
    import pandas as pd

    from crmcore.dedupe import Deduper

    table = Deduper().normalize(records)
    pos = {rid: i for i, rid in enumerate(table.ids)}

    def col(name: str) -> list[Any]:
        c = table.columns.get(name)
        if c is None:
            return [None] * table.n
        return [c.values[pos[r["id"]]] for r in records]

    firsts, lasts = zip(*(_name_parts(r) for r in records), strict=True) if records else ((), ())
    frame = pd.DataFrame(
        {
            "id": [r["id"] for r in records],
            "first_name": list(firsts),
            "surname": list(lasts),
            "name_key": col("name_key"),
            "email": col("email"),
            "phone": col("phone"),
            "national_id": col("national_id"),
            "dob": col("date_of_birth"),
            "postcode": col("postcode"),
            "city": col("city"),
            "address": col("address"),
            "company": col("company"),
        }
    )
    frame["initial"] = frame["name_key"].str[:1]
    return frame


def run_splink(
    frame: Any,
    thresholds: tuple[float, ...] = (0.5, 0.9),
    *,
    cluster: bool = False,
    link: Any = None,
) -> tuple[dict[float, set[Pair]], float]:
    """Splink (DuckDB), unsupervised: ({threshold: pairs}, seconds).

    With ``cluster=True`` the clustering at the highest threshold is timed too;
    with ``link=frame_b`` it links ``frame`` to ``frame_b`` (``link_only``).
    """
    import logging

    import splink.comparison_library as cl
    from splink import Linker, SettingsCreator, block_on
    from splink.backends.duckdb import DuckDBAPI

    logging.getLogger("splink").setLevel(logging.ERROR)
    t = time.perf_counter()
    location = cl.CustomComparison(
        output_column_name="location",
        comparison_levels=[
            {
                "sql_condition": (
                    '"address_l" IS NULL AND "postcode_l" IS NULL AND "city_l" IS NULL '
                    'OR "address_r" IS NULL AND "postcode_r" IS NULL AND "city_r" IS NULL'
                ),
                "label_for_charts": "null",
                "is_null_level": True,
            },
            {"sql_condition": '"address_l" = "address_r"', "label_for_charts": "address exact"},
            {
                "sql_condition": 'jaro_winkler_similarity("address_l", "address_r") >= 0.9',
                "label_for_charts": "address close",
            },
            {"sql_condition": '"postcode_l" = "postcode_r"', "label_for_charts": "postcode"},
            {"sql_condition": '"city_l" = "city_r"', "label_for_charts": "city"},
            {"sql_condition": "ELSE", "label_for_charts": "else"},
        ],
    )
    settings = SettingsCreator(
        link_type="dedupe_only" if link is None else "link_only",
        unique_id_column_name="id",
        comparisons=[
            cl.ForenameSurnameComparison(
                "first_name", "surname", forename_surname_concat_col_name="name_key"
            ),
            cl.EmailComparison("email"),
            cl.LevenshteinAtThresholds("phone", [1]).configure(term_frequency_adjustments=True),
            cl.LevenshteinAtThresholds("national_id", [1]),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            location,
            cl.JaroWinklerAtThresholds("company", [0.9]),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("email"),
            block_on("phone"),
            block_on("national_id"),
            block_on("name_key"),
            block_on("first_name", "surname"),
            block_on("postcode", "initial"),
            block_on("dob", "initial"),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )
    db_api = DuckDBAPI()
    if link is None:
        linker = Linker(db_api.register(frame), settings, log_level=logging.ERROR)
    else:
        frames = [
            db_api.register(frame, table_name="file_a"),
            db_api.register(link, table_name="file_b"),
        ]
        linker = Linker(frames, settings, log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("email"), block_on("phone"), block_on("national_id")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    for rule in (block_on("name_key"), block_on("dob"), block_on("phone")):
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    predicted = linker.inference.predict(threshold_match_probability=min(thresholds))
    if cluster:
        clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
            predicted, threshold_match_probability=max(thresholds)
        )
        clusters.as_pandas_dataframe()
    preds = predicted.as_pandas_dataframe()
    elapsed = time.perf_counter() - t
    out = {}
    for th in thresholds:
        sel = preds[preds["match_probability"] >= th]
        out[th] = _pairs(sel["id_l"], sel["id_r"])
    return out, elapsed


def run_recordlinkage(frame: Any, *, link: Any = None) -> tuple[dict[str, set[Pair]], float]:
    """recordlinkage, unsupervised: ({classifier: pairs}, seconds); ``link=frame_b`` links."""
    import pandas as pd
    import recordlinkage as rl

    t = time.perf_counter()
    df = frame.set_index("id")
    other = None if link is None else link.set_index("id")
    indexer = rl.Index()
    for key in (
        "email",
        "phone",
        "national_id",
        "name_key",
        ["postcode", "initial"],
        ["dob", "initial"],
    ):
        indexer.block(key)
    candidates = indexer.index(df) if other is None else indexer.index(df, other)
    comp = rl.Compare()
    comp.string("first_name", "first_name", method="jarowinkler", threshold=0.85, label="first")
    comp.string("surname", "surname", method="jarowinkler", threshold=0.85, label="surname")
    comp.exact("name_key", "name_key", label="name_key")
    comp.exact("email", "email", label="email")
    comp.exact("phone", "phone", label="phone")
    comp.exact("national_id", "national_id", label="national_id")
    comp.exact("dob", "dob", label="dob")
    comp.exact("postcode", "postcode", label="postcode")
    comp.string("address", "address", method="jarowinkler", threshold=0.9, label="address")
    comp.exact("city", "city", label="city")
    features = (
        comp.compute(candidates, df) if other is None else comp.compute(candidates, df, other)
    )
    out: dict[str, set[Pair]] = {}
    for name, clf in (("ecm", rl.ECMClassifier(binarize=0.5)), ("kmeans", rl.KMeansClassifier())):
        try:
            links = clf.fit_predict(features)
        except Exception:  # a classifier that cannot fit this data reports nothing
            links = pd.MultiIndex.from_tuples([], names=["id_1", "id_2"])
        out[name] = _pairs(links.get_level_values(0), links.get_level_values(1))
    return out, time.perf_counter() - t


def run_peers_elsewhere(
    python: str, frame: Any, link: Any = None
) -> tuple[dict[float, set[Pair]], float, dict[str, set[Pair]], float]:
    """Splink and recordlinkage run by another interpreter (their own virtualenv).

    Returns:
        (splink pairs per threshold, splink seconds, recordlinkage pairs per
        classifier, recordlinkage seconds).
    """
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = os.path.join(tmp, "in.json"), os.path.join(tmp, "out.json")
        data = {
            "a": json.loads(frame.to_json(orient="records")),
            "b": None if link is None else json.loads(link.to_json(orient="records")),
        }
        with open(src, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        subprocess.run([python, os.path.abspath(__file__), "--run", src, dst], check=True)
        with open(dst, encoding="utf-8") as fh:
            out = json.load(fh)

    def pairs(items: list[list[str]]) -> set[Pair]:
        return {(a, b) for a, b in items}

    splink = {float(k): pairs(v) for k, v in out["splink"].items()}
    rl = {k: pairs(v) for k, v in out["recordlinkage"].items()}
    return splink, out["splink_secs"], rl, out["rl_secs"]


def _main(argv: list[str]) -> None:
    import pandas as pd

    src, dst = argv[2], argv[3]
    with open(src, encoding="utf-8") as fh:
        data = json.load(fh)
    frame = pd.DataFrame(data["a"])
    link = None if data["b"] is None else pd.DataFrame(data["b"])
    splink, s_secs = run_splink(frame, link=link)
    rl, r_secs = run_recordlinkage(frame, link=link)
    out = {
        "splink": {str(k): sorted(v) for k, v in splink.items()},
        "splink_secs": s_secs,
        "recordlinkage": {k: sorted(v) for k, v in rl.items()},
        "rl_secs": r_secs,
    }
    with open(dst, "w", encoding="utf-8") as fh:
        json.dump(out, fh)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--run":
        _main(sys.argv)
