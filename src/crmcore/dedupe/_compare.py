"""The compare stage: each candidate pair gets a comparison level per field.

Comparisons are vectorised: exact agreement is a comparison of integer codes,
fuzzy agreement is one :func:`rapidfuzz.process.cpdist` call over the paired
value arrays of the pairs still undecided. The result is an ``int8`` matrix,
one row per pair and one column per comparison, holding the level index
(``0`` is the best level) or ``-1`` where either side is missing.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import attrs
import numpy as np
import numpy.typing as npt

from crmcore.dedupe._normalize import Table

__all__ = [
    "DEFAULT_COMPARISONS",
    "MISSING",
    "Comparison",
    "compare_pairs",
]

IntArray = npt.NDArray[np.int64]
LevelArray = npt.NDArray[np.int8]
BoolArray = npt.NDArray[np.bool_]

FloatArray = npt.NDArray[np.float64]

#: Jaro-Winkler at which two name tokens are alike, and similar.
_TOKEN_CUT = 0.85
_TOKEN_LOOSE = 0.75

#: The level code of a pair where either record lacks the field.
MISSING = -1

#: Ceiling on m("different") for fields a person keeps for life (see ``m_caps``).
STABLE_FIELD_DISAGREEMENT = 0.05


@attrs.frozen
class Comparison:
    """How one logical field is compared, and the levels it can land on.

    Args:
        name: the field name shown in explanations (``"name"``, ``"email"``...).
        column: the normalised column compared (its presence decides ``MISSING``).
        levels: level names, best first; the last one is "different".
        compute: ``(table, left, right) -> level per pair`` (vectorised).
        tf_column: column whose value frequency adjusts the ``tf_levels``.
        tf_levels: indices of the levels that are term-frequency adjusted.
        display_column: column whose values explanations show.
        m_start: starting m probabilities for the estimator, one per level.
        uses: all columns the comparison reads; it is active when any holds data
            (default: ``column`` alone).
        m_caps: ``(level, ceiling)`` pairs bounding m during estimation. Used
            for fields that do not change over a person's life (birth date,
            national id): unlabelled data cannot tell a household sharing a
            phone and an address from one person, but a household disagrees on
            these, so outright disagreement is capped among true duplicates.
    """

    name: str
    column: str
    levels: tuple[str, ...]
    compute: Callable[[Table, IntArray, IntArray], LevelArray]
    tf_column: str | None = None
    tf_levels: tuple[int, ...] = ()
    display_column: str | None = None
    m_start: tuple[float, ...] | None = None
    uses: tuple[str, ...] = ()
    m_caps: tuple[tuple[int, float], ...] = ()

    def shown_column(self) -> str:
        """The column explanations display."""
        return self.display_column or self.column


# ------------------------------------------------------------------------- helpers


def _codes(table: Table, column: str) -> IntArray:
    col = table.columns.get(column)
    if col is None:
        return np.full(table.n, -1, dtype=np.int64)
    return col.codes


def _start(table: Table, column: str, left: IntArray, right: IntArray) -> LevelArray:
    """Level array initialised to MISSING/undecided(127) and exact (0)."""
    codes = _codes(table, column)
    cl, cr = codes[left], codes[right]
    out = np.full(left.shape[0], 127, dtype=np.int8)
    out[(cl < 0) | (cr < 0)] = MISSING
    out[(cl >= 0) & (cl == cr)] = 0
    return out


def _values(table: Table, column: str, idx: IntArray) -> npt.NDArray[np.object_]:
    col = table.columns.get(column)
    if col is None:
        return np.full(idx.shape[0], "", dtype=object)
    return col.text[idx]


def _equal(a: npt.NDArray[np.object_], b: npt.NDArray[np.object_]) -> BoolArray:
    """Element-wise equality of two object arrays, empty strings never equal."""
    if a.size == 0:
        return np.zeros(0, dtype=np.bool_)
    return np.asarray((a == b) & (a != ""), dtype=np.bool_)


def _same(
    codes: IntArray, left: IntArray, right: IntArray, other: IntArray | None = None
) -> BoolArray:
    """Where ``codes[left]`` equals ``(other or codes)[right]`` and is not missing or empty."""
    a = codes[left]
    b = (codes if other is None else other)[right]
    return np.asarray((a == b) & (a >= 0), dtype=np.bool_)


def _email_user(email: str) -> str:
    return email.split("@", 1)[0]


def _tail8(phone: str) -> str:
    return phone.split(";", 1)[0][-8:]


def _swap_day_month(iso: str) -> str:
    return f"{iso[:4]}-{iso[8:10]}-{iso[5:7]}" if len(iso) == 10 else ""


#: threads each rapidfuzz batch call may use (set by :func:`scorer_threads`)
_THREADS: contextvars.ContextVar[int] = contextvars.ContextVar("dedupe_threads", default=1)


@contextmanager
def scorer_threads(threads: int) -> Iterator[None]:
    """Let the string scorers run on ``threads`` threads (same scores, more cores)."""
    token = _THREADS.set(max(1, threads))
    try:
        yield
    finally:
        _THREADS.reset(token)


def _sorted_digits(text: str) -> str:
    """The digits of ``text`` in sorted order: blind to transposed digits."""
    return "".join(sorted(c for c in text if c.isdigit()))


_OCR_FOLD = str.maketrans("0125689", "olzsbbg")


def _fold_ocr(token: str) -> str:
    """Undo the common OCR confusions in a name token (``5un`` -> ``sun``, ``rn`` -> ``m``)."""
    return token.translate(_OCR_FOLD).replace("rn", "m").replace("vv", "w")


def _token(k: int) -> Callable[[str], str]:
    """Token ``k`` of a name key (``-1``: the last; ``""`` when it has one token),
    OCR confusions folded."""

    def pick(name: str) -> str:
        tokens = name.split()
        if k == -1:
            return _fold_ocr(tokens[-1]) if len(tokens) > 1 else ""
        return _fold_ocr(tokens[k]) if len(tokens) > k else ""

    return pick


def _compact(text: str) -> str:
    return text.replace(" ", "")


def _token_similarity(
    a: npt.NDArray[np.object_], b: npt.NDArray[np.object_], *, at_least: float | None = None
) -> FloatArray:
    """Per pair: Jaro-Winkler of two tokens, 1 for an initial of the other, 0 if one is missing.

    With ``at_least`` (as in :func:`_score`) a Jaro-Winkler under it may come back as 0.
    """
    from rapidfuzz.distance import JaroWinkler
    from rapidfuzz.process import cpdist

    if a.size == 0:
        return np.zeros(0, dtype=np.float64)
    threads = _THREADS.get() if a.size >= 20_000 else 1
    sim = np.asarray(
        cpdist(
            a,
            b,
            scorer=JaroWinkler.normalized_similarity,
            dtype=np.float64,
            score_cutoff=_cutoff(at_least, None),
            workers=threads,
        ),
        dtype=np.float64,
    )
    la = np.fromiter((len(x) for x in a), dtype=np.int64, count=a.size)
    lb = np.fromiter((len(x) for x in b), dtype=np.int64, count=b.size)
    first_a = np.asarray([x[:1] for x in a], dtype=object)
    first_b = np.asarray([x[:1] for x in b], dtype=object)
    sim[((la == 1) | (lb == 1)) & (first_a == first_b)] = 1.0
    sim[(la == 0) | (lb == 0)] = 0.0
    return sim


def _cutoff(at_least: float | None, at_most: int | None) -> float | None:
    """rapidfuzz's ``score_cutoff`` for a bound (a similarity bound a hair low)."""
    if at_least is not None:
        return at_least - 1e-6 * max(1.0, abs(at_least))
    return at_most


def _score(
    scorer: Callable[..., float],
    table: Table,
    column: str,
    left: IntArray,
    right: IntArray,
    *,
    at_least: float | None = None,
    at_most: int | None = None,
) -> npt.NDArray[np.float64]:
    """Scores of the paired values; with a bound the scorer may stop early.

    ``at_least`` (a similarity) or ``at_most`` (an edit distance) says the
    caller only tests ``score >= at_least`` or ``score <= at_most``: scores on
    the far side come back as rapidfuzz's sentinel (``0``, or ``at_most + 1``),
    so the test answers the same, sooner. A similarity bound is passed a hair
    low so a score sitting exactly on it is never lost to float rounding.
    """
    from rapidfuzz.process import cpdist

    if left.size == 0:
        return np.zeros(0, dtype=np.float64)
    a = _values(table, column, left)
    b = _values(table, column, right)
    cutoff = _cutoff(at_least, at_most)
    threads = _THREADS.get() if left.size >= 20_000 else 1
    return np.asarray(
        cpdist(a, b, scorer=scorer, dtype=np.float64, score_cutoff=cutoff, workers=threads),
        dtype=np.float64,
    )


def _assign(out: LevelArray, todo: npt.NDArray[np.intp], hit: BoolArray, level: int) -> None:
    out[todo[hit]] = level


def _finish(out: LevelArray, last: int) -> LevelArray:
    out[out == 127] = last
    return out


def _todo(out: LevelArray) -> npt.NDArray[np.intp]:
    return np.flatnonzero(out == 127)


# -------------------------------------------------------------------- comparisons


def compare_name(table: Table, left: IntArray, right: IntArray) -> LevelArray:
    """exact script / transliteration / nickname / close / tokens alike / far /
    tokens similar / one token alike / different.

    "tokens alike" holds when the first and last tokens of the two names
    (nickname-canonical, sorted) match pairwise in either order, each pair at
    a Jaro-Winkler (an initial counts as 1) of at least 0.85: a typo
    in each of first and last name, or swapped names, land there rather than
    on "far". "one token alike" is a one-token name (the other part missing)
    alike one token of the other name; two full names sharing only a surname
    stay "different" (households). "tokens similar" is the looser form of
    "tokens alike" (0.75 each), for names typo'd twice. Tokens
    are compared with common OCR confusions folded (``5un``/``sun``, ``rn``/``m``).
    """
    from rapidfuzz.distance import JaroWinkler
    from rapidfuzz.fuzz import token_set_ratio

    out = _start(table, "name_exact", left, right)
    key = _start(table, "name_key", left, right)
    canon = _start(table, "name_canon", left, right)
    # a pair missing the script key may still be comparable through the others
    out[(out == MISSING) & (key != MISSING)] = 127
    todo = _todo(out)
    out[todo[key[todo] == 0]] = 1
    todo = _todo(out)
    out[todo[canon[todo] == 0]] = 2
    todo = _todo(out)
    todo = todo[canon[todo] != MISSING]
    lo, hi = left[todo], right[todo]
    jw = _score(JaroWinkler.normalized_similarity, table, "name_canon", lo, hi, at_least=0.92)
    _assign(out, todo, jw >= 0.92, 3)
    rest = np.flatnonzero(jw < 0.92)
    todo, lo, hi = todo[rest], lo[rest], hi[rest]
    firsts = table.derived("name_first", "name_canon", _token(0))
    lasts = table.derived("name_last", "name_canon", _token(-1))
    fa, fb, la, lb = firsts[lo], firsts[hi], lasts[lo], lasts[hi]
    # only ">= _TOKEN_CUT" and ">= _TOKEN_LOOSE" are asked of these scores
    bound = _TOKEN_LOOSE
    s_ff = _token_similarity(fa, fb, at_least=bound)
    s_ll = _token_similarity(la, lb, at_least=bound)
    s_fl = _token_similarity(fa, lb, at_least=bound)
    s_lf = _token_similarity(la, fb, at_least=bound)
    ff, fl, lf = s_ff >= _TOKEN_CUT, s_fl >= _TOKEN_CUT, s_lf >= _TOKEN_CUT
    single = (la == "") & (lb == "")  # both one-token names: the first token decides
    # each token on its own: an exact surname must not carry a merely similar
    # given name (Chloe / Christopher Phillips are a household)
    straight = np.minimum(s_ff, s_ll) >= _TOKEN_CUT
    crossed = np.minimum(s_fl, s_lf) >= _TOKEN_CUT
    both = straight | crossed | (single & ff)
    _assign(out, todo, both, 4)
    rest = np.flatnonzero(~both)
    far = _score(token_set_ratio, table, "name_canon", lo[rest], hi[rest], at_least=80)
    _assign(out, todo[rest], far >= 80, 5)
    similar = (np.minimum(s_ff, s_ll) >= _TOKEN_LOOSE) | (np.minimum(s_fl, s_lf) >= _TOKEN_LOOSE)
    _assign(out, todo, (out[todo] == 127) & similar, 6)
    # one name has a single token (the other part is missing) and it is alike one
    # of the other's; two full names sharing only a surname are a household, not this
    lone = (la == "") != (lb == "")
    _assign(out, todo, (out[todo] == 127) & lone & (ff | fl | lf), 7)
    return _finish(out, 8)


def compare_email(table: Table, left: IntArray, right: IntArray) -> LevelArray:
    """exact match key / same user, or one edit (a transposition counts as one) / different."""
    from rapidfuzz.distance import OSA

    out = _start(table, "email", left, right)
    todo = _todo(out)
    lo, hi = left[todo], right[todo]
    users = table.derived_codes("email_user", "email", _email_user)
    same_user = _same(users, lo, hi)
    edits = _score(OSA.distance, table, "email", lo, hi, at_most=1)
    _assign(out, todo, same_user | (edits <= 1), 1)
    return _finish(out, 2)


def compare_phone(table: Table, left: IntArray, right: IntArray) -> LevelArray:
    """exact E.164 / same last 8 digits or one edit / two edits / different.

    Edits are optimal-string-alignment edits: two transposed digits are one.
    """
    from rapidfuzz.distance import OSA

    out = _start(table, "phone", left, right)
    todo = _todo(out)
    lo, hi = left[todo], right[todo]
    tails = table.derived_codes("phone_tail", "phone", _tail8)
    tail = _same(tails, lo, hi)
    edits = _score(OSA.distance, table, "phone", lo, hi, at_most=2)
    _assign(out, todo, edits <= 2, 2)
    _assign(out, todo, tail | (edits <= 1), 1)
    return _finish(out, 3)


def compare_id(table: Table, left: IntArray, right: IntArray) -> LevelArray:
    """exact national id / one edit / two edits / different.

    Edits are optimal-string-alignment edits: two transposed digits are one.
    """
    from rapidfuzz.distance import OSA

    out = _start(table, "national_id", left, right)
    todo = _todo(out)
    edits = _score(OSA.distance, table, "national_id", left[todo], right[todo], at_most=2)
    _assign(out, todo, edits <= 2, 2)
    _assign(out, todo, edits <= 1, 1)
    return _finish(out, 3)


def compare_date(table: Table, left: IntArray, right: IntArray) -> LevelArray:
    """exact date / one digit off, two digits transposed, or day and month swapped /
    two such errors (or the same digits in another order) / different."""
    from rapidfuzz.distance import OSA

    out = _start(table, "date_of_birth", left, right)
    todo = _todo(out)
    lo, hi = left[todo], right[todo]
    swaps = table.derived_codes(
        "dob_swapped", "date_of_birth", _swap_day_month, within="date_of_birth"
    )
    swapped = _same(swaps, lo, hi, _codes(table, "date_of_birth"))
    digits = table.derived_codes("dob_digits", "date_of_birth", _sorted_digits)
    shuffled = _same(digits, lo, hi)
    edits = _score(OSA.distance, table, "date_of_birth", lo, hi, at_most=2)
    _assign(out, todo, shuffled | (edits <= 2), 2)
    _assign(out, todo, swapped | (edits <= 1), 1)
    return _finish(out, 3)


def compare_location(table: Table, left: IntArray, right: IntArray) -> LevelArray:
    """Address, postcode and city as one comparison (they move together).

    exact address / close address (token-set ratio >= 90) / similar address
    (token-set ratio >= 75) / same postcode (spaces ignored, or one edit apart) /
    same city (or Jaro-Winkler >= 0.9) / different; missing when no part is
    present on both sides.
    """
    from rapidfuzz.distance import OSA, JaroWinkler
    from rapidfuzz.fuzz import token_set_ratio

    out = np.full(left.shape[0], MISSING, dtype=np.int8)
    parts = []
    for column in ("address", "postcode", "city"):
        if column in table.columns:
            codes = table.columns[column].codes
            cl, cr = codes[left], codes[right]
            both = (cl >= 0) & (cr >= 0)
            parts.append((column, both, both & (cl == cr)))
    if not parts:
        return out
    comparable = np.zeros(left.shape[0], dtype=np.bool_)
    for _, both, _ in parts:
        comparable |= both
    out[comparable] = 127
    for column, both, equal in parts:
        if column == "address":
            out[equal & (out == 127)] = 0
            todo = np.flatnonzero(both & (out == 127))
            sim = _score(token_set_ratio, table, "address", left[todo], right[todo], at_least=75)
            _assign(out, todo, sim >= 75, 2)
            _assign(out, todo, sim >= 90, 1)
        elif column == "postcode":
            todo = np.flatnonzero(both & (out == 127))
            lo, hi = left[todo], right[todo]
            same = _same(table.derived_codes("postcode_compact", "postcode", _compact), lo, hi)
            edits = _score(OSA.distance, table, "postcode", lo, hi, at_most=1)
            near = np.flatnonzero(~same & (edits <= 1))
            compact = table.derived("postcode_compact", "postcode", _compact)
            long_enough = np.fromiter(
                (len(x) >= 5 for x in compact[lo[near]]), dtype=np.bool_, count=near.size
            )
            same[near[long_enough]] = True
            _assign(out, todo, same, 3)
        else:
            out[equal & (out == 127)] = 4
            todo = np.flatnonzero(both & (out == 127))
            sim = _score(
                JaroWinkler.normalized_similarity,
                table,
                "city",
                left[todo],
                right[todo],
                at_least=0.9,
            )
            _assign(out, todo, sim >= 0.9, 4)
    return _finish(out, 5)


def _fuzzy(
    column: str, scorer_name: str, cuts: Sequence[float]
) -> Callable[[Table, IntArray, IntArray], LevelArray]:
    def compute(table: Table, left: IntArray, right: IntArray) -> LevelArray:
        from rapidfuzz import fuzz
        from rapidfuzz.distance import JaroWinkler

        scorer: Callable[..., float] = (
            JaroWinkler.normalized_similarity
            if scorer_name == "jaro_winkler"
            else getattr(fuzz, scorer_name)
        )
        out = _start(table, column, left, right)
        todo = _todo(out)
        sim = _score(
            scorer, table, column, left[todo], right[todo], at_least=min(cuts, default=None)
        )
        for level, cut in reversed(list(enumerate(cuts, start=1))):
            _assign(out, todo, sim >= cut, level)
        return _finish(out, len(cuts) + 1)

    compute.__name__ = f"compare_{column}"
    compute.__qualname__ = compute.__name__
    return compute


def compare_company(table: Table, left: IntArray, right: IntArray) -> LevelArray:
    """exact company / token-set ratio >= 90 / different."""
    return _fuzzy("company", "token_set_ratio", (90.0,))(table, left, right)


DEFAULT_COMPARISONS: tuple[Comparison, ...] = (
    Comparison(
        "name",
        "name_key",
        (
            "exact",
            "transliterated",
            "nickname",
            "close",
            "tokens_alike",
            "far",
            "tokens_similar",
            "one_token",
            "different",
        ),
        compare_name,
        tf_column="name_key",
        tf_levels=(0, 1),
        display_column="name_exact",
        m_start=(0.5, 0.15, 0.05, 0.1, 0.06, 0.03, 0.02, 0.04, 0.05),
    ),
    Comparison(
        "email",
        "email",
        ("exact", "close", "different"),
        compare_email,
        tf_column="email",
        tf_levels=(0,),
        m_start=(0.8, 0.1, 0.1),
    ),
    Comparison(
        "phone",
        "phone",
        ("exact", "close", "two_edits", "different"),
        compare_phone,
        tf_column="phone",
        tf_levels=(0,),
        m_start=(0.8, 0.08, 0.02, 0.1),
    ),
    Comparison(
        "national_id",
        "national_id",
        ("exact", "close", "two_edits", "different"),
        compare_id,
        m_start=(0.9, 0.05, 0.02, 0.03),
        m_caps=((3, STABLE_FIELD_DISAGREEMENT),),
    ),
    Comparison(
        "date_of_birth",
        "date_of_birth",
        ("exact", "close", "two_edits", "different"),
        compare_date,
        m_start=(0.85, 0.08, 0.02, 0.05),
        m_caps=((3, STABLE_FIELD_DISAGREEMENT),),
    ),
    Comparison(
        "address",
        "address",
        ("exact", "close", "similar", "same_postcode", "same_city", "different"),
        compare_location,
        tf_column="address",
        tf_levels=(0,),
        m_start=(0.55, 0.08, 0.04, 0.08, 0.05, 0.2),
        uses=("address", "postcode", "city"),
    ),
    Comparison(
        "company",
        "company",
        ("exact", "close", "different"),
        compare_company,
        tf_column="company",
        tf_levels=(0,),
        m_start=(0.7, 0.1, 0.2),
    ),
)


def active_comparisons(table: Table, comparisons: Sequence[Comparison]) -> tuple[Comparison, ...]:
    """The comparisons whose column holds at least one value in ``table``."""
    return tuple(c for c in comparisons if any(table.has(x) for x in c.uses or (c.column,)))


def compare_pairs(
    table: Table,
    comparisons: Sequence[Comparison],
    left: IntArray,
    right: IntArray,
) -> LevelArray:
    """The level matrix of the pairs (``left[i]``, ``right[i]``).

    Args:
        table: the normalised records.
        comparisons: one column of the result per comparison.
        left: record positions.
        right: record positions, same length.

    Returns:
        ``int8`` array of shape ``(len(left), len(comparisons))``.
    """
    out = np.empty((left.shape[0], len(comparisons)), dtype=np.int8)
    for k, comp in enumerate(comparisons):
        out[:, k] = comp.compute(table, left, right)
    return out
