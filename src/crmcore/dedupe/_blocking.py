"""The blocking stage: which pairs of records are worth comparing.

Each :class:`BlockingRule` gives every record zero or more keys; records that
share a key form a block and every pair in a block becomes a candidate. The
candidate set is the union over all rules, and each pair remembers which rules
produced it (a bit mask the estimator uses to train without bias). Blocks
larger than ``max_block_size`` are either skipped or sub-blocked with a sorted
neighbourhood window, and are reported either way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import attrs
import numpy as np
import numpy.typing as npt

from crmcore.dedupe._normalize import Column, Table
from crmcore.errors import ConfigurationError

__all__ = [
    "DEFAULT_RULES",
    "NAME_SOUND_RULE",
    "Blocker",
    "BlockingRule",
    "CandidatePairs",
    "OversizedBlock",
    "StandardBlocker",
    "record_keys",
]

IntArray = npt.NDArray[np.int64]
ProgressFn = Callable[[str, int, int], None]

_VOWELS = str.maketrans("", "", "aeiouyhw")


def _skeleton(token: str) -> str:
    """A crude phonetic key: first letter, then consonants with repeats collapsed."""
    if not token:
        return ""
    rest = token[1:].translate(_VOWELS)
    out = [token[0]]
    for c in rest:
        if c != out[-1]:
            out.append(c)
    return "".join(out)


def _key_identity(values: tuple[str | None, ...]) -> list[str]:
    return [values[0]] if values[0] else []


def _key_email_user(values: tuple[str | None, ...]) -> list[str]:
    email = values[0]
    if not email or "@" not in email:
        return []
    user = email.split("@", 1)[0]
    return [user] if len(user) >= 4 else []


def _key_name_sound(values: tuple[str | None, ...]) -> list[str]:
    name = values[0]
    if not name:
        return []
    return [" ".join(sorted(_skeleton(t) for t in name.split()))]


def _key_with_initials(values: tuple[str | None, ...]) -> list[str]:
    head, name = values
    if not head or not name:
        return []
    return sorted({f"{head}|{t[0]}" for t in name.split() if t})


def _one_edit_keys(text: str) -> list[str]:
    """``text`` and each string one character shorter (a deletion neighbourhood).

    Two strings one edit apart (a substitution, an insertion or deletion, or
    two neighbouring characters transposed) always share one of these keys.
    """
    return sorted({text, *(text[:i] + text[i + 1 :] for i in range(len(text)))})


def _key_one_edit(values: tuple[str | None, ...]) -> list[str]:
    value = values[0]
    if not value or len(value) < 6:
        return []
    return _one_edit_keys(value)


def _key_email_user_edit(values: tuple[str | None, ...]) -> list[str]:
    email = values[0]
    if not email or "@" not in email:
        return []
    user = email.split("@", 1)[0]
    return _one_edit_keys(user) if len(user) >= 6 else []


def _key_digits_with_initials(values: tuple[str | None, ...]) -> list[str]:
    """A date's digits in sorted order (blind to transposed digits and a swapped
    day and month), each with the initial of a name token."""
    head, name = values
    if not head or not name:
        return []
    digits = "".join(sorted(c for c in head if c.isdigit()))
    return sorted({f"{digits}|{t[0]}" for t in name.split() if t})


def _key_compact_with_initials(values: tuple[str | None, ...]) -> list[str]:
    """A postcode without its spaces, with the initial of each name token."""
    head, name = values
    if not head:
        return []
    return _key_with_initials((head.replace(" ", ""), name))


_STREET_WORDS = frozenset(
    {"st", "rd", "ave", "ln", "dr", "cl", "ct", "pl", "sq", "apt", "bldg", "fl", "blvd", "no"}
    | {"n", "s", "e", "w", "close", "crescent", "cres", "terrace", "tce"}
)
_SOUND_FOLD = str.maketrans("kqzj0158693", "ccsgolsbgbe")


def _key_house_street(values: tuple[str | None, ...]) -> list[str]:
    """House number with the first three letters of each street word: blind to a
    typo later in the street name and to its kind (``Rd``/``Road``) missing."""
    address = values[0]
    if not address:
        return []
    words = address.split()
    if len(words) < 2 or not words[0].isdigit():
        return []
    return sorted(
        {f"{words[0]}|{w[:3]}" for w in words[1:] if len(w) >= 3 and w not in _STREET_WORDS}
    )


def _key_sound_year(values: tuple[str | None, ...]) -> list[str]:
    """A folded phonetic skeleton of each name token with the year of birth and
    the initial of the other token (so that a common surname is no huge block)."""
    name, dob = values
    if not name or not dob or len(dob) < 4:
        return []
    year = dob[:4]
    tokens = [t.translate(_SOUND_FOLD) for t in name.split()]
    keys: set[str] = set()
    for i, t in enumerate(tokens):
        sound = _skeleton(t)[:4]
        if len(t) < 3 or len(sound) < 2:
            continue
        others = {o[0] for j, o in enumerate(tokens) if j != i} or {""}
        keys.update(f"{sound}|{year}|{o}" for o in others)
    return sorted(keys)


@attrs.frozen
class BlockingRule:
    """One way of putting records into blocks.

    Args:
        name: a short name, reported with candidate counts and oversized blocks.
        columns: the normalised columns the key is computed from.
        key: record values (in ``columns`` order) -> its keys (none to skip it).
        fixes: comparison names this rule forces to agree; the estimator leaves
            them out when it trains on this rule's pairs.
        sort_by: column that orders an oversized block for windowing.
    """

    name: str
    columns: tuple[str, ...]
    key: Callable[[tuple[str | None, ...]], list[str]] = _key_identity
    fixes: tuple[str, ...] = ()
    sort_by: str = "name_canon"


#: Phonetic-skeleton blocking on the whole name: more recall on misspelt names
#: with changed contact details, at the price of many more candidate pairs.
NAME_SOUND_RULE = BlockingRule("name_sound", ("name_key",), _key_name_sound, fixes=("name",))

DEFAULT_RULES: tuple[BlockingRule, ...] = (
    BlockingRule("email", ("email",), fixes=("email",)),
    # the user part of an address is usually made of the name: it fixes both
    BlockingRule("email_user", ("email",), _key_email_user, fixes=("email", "name")),
    BlockingRule("phone", ("phone",), fixes=("phone",)),
    BlockingRule("national_id", ("national_id",), fixes=("national_id",)),
    BlockingRule("name", ("name_canon",), fixes=("name",), sort_by="date_of_birth"),
    BlockingRule(
        "postcode_initial", ("postcode", "name_key"), _key_compact_with_initials, fixes=("address",)
    ),
    BlockingRule(
        "address_initial", ("address", "name_key"), _key_with_initials, fixes=("address",)
    ),
    BlockingRule(
        "dob_initial", ("date_of_birth", "name_key"), _key_with_initials, fixes=("date_of_birth",)
    ),
    # typo-tolerant passes: ids, phones and e-mail users one edit apart, birth
    # dates with transposed digits (issue #15)
    BlockingRule("national_id_edit", ("national_id",), _key_one_edit, fixes=("national_id",)),
    BlockingRule("phone_edit", ("phone",), _key_one_edit, fixes=("phone",)),
    BlockingRule("email_user_edit", ("email",), _key_email_user_edit, fixes=("email", "name")),
    BlockingRule(
        "dob_digits_initial",
        ("date_of_birth", "name_key"),
        _key_digits_with_initials,
        fixes=("date_of_birth",),
    ),
    BlockingRule("house_street", ("address",), _key_house_street, fixes=("address",)),
    BlockingRule(
        "name_sound_year",
        ("name_canon", "date_of_birth"),
        _key_sound_year,
        fixes=("name",),
        sort_by="date_of_birth",
    ),
)


@attrs.frozen
class OversizedBlock:
    """A block larger than the cap: reported, then skipped or windowed.

    Attributes:
        rule: the blocking rule's name.
        key: the block's key value.
        size: how many records share it.
        action: ``"skipped"`` or ``"windowed"``.
    """

    rule: str
    key: str
    size: int
    action: str


@attrs.frozen(eq=False)
class CandidatePairs:
    """The union of candidate pairs, as record positions in the table.

    Attributes:
        left: first record of each pair (``left < right``), sorted.
        right: second record of each pair.
        rules: bit ``r`` set when rule ``r`` put the pair in one block.
        rule_names: the rules' names, in bit order.
        oversized: blocks over the cap.
        rule_counts: candidate pairs each rule produced.
    """

    left: IntArray
    right: IntArray
    rules: npt.NDArray[np.uint32]
    rule_names: tuple[str, ...]
    oversized: tuple[OversizedBlock, ...] = ()
    rule_counts: dict[str, int] = attrs.field(factory=dict)

    def __len__(self) -> int:
        return int(self.left.shape[0])


class Blocker(Protocol):
    """The blocking stage: a table in, candidate pairs out."""

    @property
    def rules(self) -> Sequence[BlockingRule]:
        """The rules, in the order of the candidate pairs' rule bits."""
        ...

    def __call__(self, table: Table, progress: ProgressFn | None = None) -> CandidatePairs: ...


def record_keys(rule: BlockingRule, values: tuple[str | None, ...]) -> list[str]:
    """The keys ``rule`` gives one record with these column values."""
    if any(v is None for v in values[:1]):
        return []
    return rule.key(values)


def _rule_keys(
    rule: BlockingRule, table: Table, memo: dict[str, Any] | None = None
) -> tuple[IntArray, IntArray, Callable[[int], str]]:
    """(record positions, integer keys, key id -> key string) for every key of every record.

    Entries come in record order and, within a record, in the order its key
    function lists them (duplicates kept), exactly as calling ``rule.key`` on
    every record would give; the key function runs once per distinct
    combination of column values, never once per record.
    """
    cols = [table.columns.get(c) for c in rule.columns]
    first = cols[0]
    if first is None:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, str
    if rule.key is _key_identity and len(cols) == 1:
        rows = np.flatnonzero(first.codes >= 0).astype(np.int64)
        codes = first.codes[rows]
        labels = [str(v) for v in _first_values(first.values, first.codes)]
        return rows, codes, labels.__getitem__
    second = cols[1] if len(cols) == 2 else None
    if rule.key is _key_with_initials and second is not None:
        return _initial_keys(first, second, {} if memo is None else memo)
    return _distinct_keys(rule.key, cols)


def _ragged(starts: IntArray, lengths: IntArray) -> IntArray:
    """``concatenate([arange(s, s + l) for s, l in zip(starts, lengths)])``, vectorised."""
    ends = np.cumsum(lengths)
    total = int(ends[-1]) if ends.size else 0
    out: IntArray = np.repeat(starts - (ends - lengths), lengths) + np.arange(total)
    return out


def _expand(
    records: IntArray, owner: IntArray, keys_of: list[list[int]]
) -> tuple[IntArray, IntArray]:
    """Rows and keys when record ``records[i]`` has the keys ``keys_of[owner[i]]``."""
    lengths = np.fromiter((len(k) for k in keys_of), dtype=np.int64, count=len(keys_of))
    flat = np.fromiter((k for ks in keys_of for k in ks), dtype=np.int64, count=int(lengths.sum()))
    starts = np.cumsum(lengths) - lengths
    per_record = lengths[owner]
    rows = np.repeat(records, per_record)
    keys = flat[_ragged(starts[owner], per_record)]
    return rows, keys


def _distinct_keys(
    key_fn: Callable[[tuple[str | None, ...]], list[str]], cols: Sequence[Column | None]
) -> tuple[IntArray, IntArray, Callable[[int], str]]:
    """Keys of a custom key function, called once per distinct value combination."""
    first = cols[0]
    assert first is not None
    present = np.flatnonzero(first.codes >= 0).astype(np.int64)
    combo = first.codes[present]
    for col in cols[1:]:
        codes = col.codes[present] if col is not None else np.full(present.size, -1)
        width = int(codes.max(initial=-1)) + 2
        _, combo = np.unique(combo * width + (codes + 1), return_inverse=True)
    _, reps, owner = np.unique(combo, return_index=True, return_inverse=True)
    at = present[reps]
    value_lists = [col.values[at].tolist() if col is not None else [None] * at.size for col in cols]
    lookup: dict[str, int] = {}
    keys_of = [
        [lookup.setdefault(k, len(lookup)) for k in key_fn(vals)]
        for vals in zip(*value_lists, strict=True)
    ]
    rows, keys = _expand(present, owner.reshape(-1).astype(np.int64), keys_of)
    return rows, keys, list(lookup).__getitem__


def _initial_keys(
    head: Column, name: Column, memo: dict[str, Any]
) -> tuple[IntArray, IntArray, Callable[[int], str]]:
    """The keys of ``_key_with_initials`` (``head|initial`` per initial of the name's words).

    A key string splits back into its head and initial in one way only (the
    initial is its last character), so ``(head code, initial)`` stands for it.
    """
    present = np.flatnonzero((head.codes >= 0) & (name.codes >= 0)).astype(np.int64)
    heads = _first_values(head.values, head.codes)
    empty_head = np.fromiter((not h for h in heads), dtype=np.bool_, count=len(heads))
    present = present[~empty_head[head.codes[present]]]
    # the initials of every distinct name, shared by the rules keyed on that column
    cached = memo.get(f"initials:{id(name)}")
    if cached is None:
        chars: dict[str, int] = {}
        lists = [
            [chars.setdefault(c, len(chars)) for c in sorted({t[0] for t in str(v).split() if t})]
            for v in _first_values(name.values, name.codes)
        ]
        cached = memo[f"initials:{id(name)}"] = (chars, lists)
    chars, initials = cached
    rows, initial = _expand(present, name.codes[present], initials)
    width = max(len(chars), 1)
    uniq, keys = np.unique(head.codes[rows] * width + initial, return_inverse=True)
    char_list = list(chars)

    def label(k: int) -> str:
        code = int(uniq[k])
        return f"{heads[code // width]}|{char_list[code % width]}"

    return rows, keys.reshape(-1).astype(np.int64), label


def _first_values(values: npt.NDArray[np.object_], codes: IntArray) -> list[object]:
    """The value of each code, in code order."""
    n_codes = int(codes.max()) + 1 if codes.size else 0
    first = np.full(n_codes, -1, dtype=np.int64)
    present = np.flatnonzero(codes >= 0)
    # the last write wins; any representative will do since equal codes mean equal values
    first[codes[present]] = present
    return [values[i] for i in first.tolist()]


def _sort_rank(table: Table, column: str) -> IntArray:
    """A rank of every record by ``column`` (missing last, ties by position)."""
    col = table.columns.get(column)
    if col is None:
        return np.arange(table.n, dtype=np.int64)
    # sort the distinct values once; a missing value sorts as the text "\uffff"
    texts = [str(v) for v in _first_values(col.values, col.codes)] + ["\uffff"]
    order = sorted(range(len(texts)), key=texts.__getitem__)
    dense = np.empty(len(texts), dtype=np.int64)
    level = -1
    previous: str | None = None
    for i in order:
        if texts[i] != previous:
            level += 1
            previous = texts[i]
        dense[i] = level
    codes = np.where(col.codes >= 0, col.codes, len(texts) - 1)
    by_value = np.lexsort((np.arange(table.n), dense[codes]))
    rank = np.empty(table.n, dtype=np.int64)
    rank[by_value] = np.arange(table.n, dtype=np.int64)
    return rank


def block_pairs(
    rows: IntArray,
    keys: IntArray,
    *,
    rank: IntArray | None,
    max_block_size: int,
    window: int,
    on_oversized: str,
) -> tuple[IntArray, IntArray, list[tuple[int, int]]]:
    """All pairs within blocks of equal keys, capping oversized blocks.

    Returns:
        (left, right, oversized) where oversized lists (key, size) of capped blocks.
    """
    empty = np.zeros(0, dtype=np.int64)
    if rows.size < 2:
        return empty, empty, []
    secondary = rank[rows] if rank is not None else rows
    order = np.lexsort((secondary, keys))
    rows, keys = rows[order], keys[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    sizes = np.diff(np.r_[starts, keys.size])
    lefts: list[IntArray] = []
    rights: list[IntArray] = []
    normal = (sizes >= 2) & (sizes <= max_block_size)
    for size in np.unique(sizes[normal]).tolist():
        group_starts = starts[normal & (sizes == size)]
        a, b = np.triu_indices(size, 1)
        lefts.append((group_starts[:, None] + a[None, :]).ravel())
        rights.append((group_starts[:, None] + b[None, :]).ravel())
    big = sizes > max_block_size
    oversized = [(int(keys[s]), int(z)) for s, z in zip(starts[big], sizes[big], strict=True)]
    if on_oversized == "window" and big.any():
        group_of = np.repeat(np.arange(sizes.size), sizes)
        in_big = np.flatnonzero(big[group_of])
        for k in range(1, window):
            first = in_big[:-k] if k < in_big.size else in_big[:0]
            second = first + k
            ok = second < keys.size
            first, second = first[ok], second[ok]
            same = group_of[first] == group_of[second]
            lefts.append(first[same])
            rights.append(second[same])
    if not lefts:
        return empty, empty, oversized
    pos_l = np.concatenate(lefts)
    pos_r = np.concatenate(rights)
    left, right = rows[pos_l], rows[pos_r]
    lo, hi = np.minimum(left, right), np.maximum(left, right)
    keep = lo != hi
    return lo[keep], hi[keep], oversized


@attrs.frozen
class StandardBlocker:
    """The default blocking stage: several rules, union of pairs, capped blocks.

    Args:
        rules: the blocking rules (default :data:`DEFAULT_RULES`).
        max_block_size: blocks larger than this are capped.
        on_oversized: ``"window"`` compares each record of a capped block with its
            ``window - 1`` neighbours in ``rule.sort_by`` order; ``"skip"`` drops it.
        window: the sorted-neighbourhood window for capped blocks.
    """

    rules: Sequence[BlockingRule] = DEFAULT_RULES
    max_block_size: int = 100
    on_oversized: str = "window"
    window: int = 10

    def __attrs_post_init__(self) -> None:
        if self.on_oversized not in ("window", "skip"):
            raise ConfigurationError(
                f"on_oversized must be 'window' or 'skip', not {self.on_oversized!r}"
            )
        if self.max_block_size < 2 or self.window < 2:
            raise ConfigurationError("max_block_size and window must be at least 2")
        if len(self.rules) > 32:
            raise ConfigurationError("at most 32 blocking rules")

    def __call__(self, table: Table, progress: ProgressFn | None = None) -> CandidatePairs:
        """Block ``table`` into candidate pairs (see :class:`Blocker`)."""
        n = table.n
        merged = np.zeros(0, dtype=np.int64)
        mask = np.zeros(0, dtype=np.uint32)
        oversized: list[OversizedBlock] = []
        counts: dict[str, int] = {}
        active = [r for r in self.rules if table.has(r.columns[0])]
        names = tuple(r.name for r in active)
        ranks: dict[str, IntArray] = {}
        memo: dict[str, Any] = {}
        for bit, rule in enumerate(active):
            rows, keys, labels = _rule_keys(rule, table, memo)
            rank = None
            if self.on_oversized == "window":
                if rule.sort_by not in ranks:
                    ranks[rule.sort_by] = _sort_rank(table, rule.sort_by)
                rank = ranks[rule.sort_by]
            left, right, big = block_pairs(
                rows,
                keys,
                rank=rank,
                max_block_size=self.max_block_size,
                window=self.window,
                on_oversized=self.on_oversized,
            )
            action = "windowed" if self.on_oversized == "window" else "skipped"
            oversized.extend(OversizedBlock(rule.name, labels(k), size, action) for k, size in big)
            code = _sorted_unique(left * n + right)
            del left, right
            counts[rule.name] = int(code.size)
            merged, mask = _merge(merged, mask, code, np.uint32(1 << bit))
            if progress is not None:
                progress("block", bit + 1, len(active))
        oversized.sort(key=lambda b: (-b.size, b.rule, b.key))
        return CandidatePairs(
            left=merged // n if n else merged,
            right=merged % n if n else merged,
            rules=mask,
            rule_names=names,
            oversized=tuple(oversized),
            rule_counts=counts,
        )


def _merge(
    merged: IntArray, mask: npt.NDArray[np.uint32], new: IntArray, bit: np.uint32
) -> tuple[IntArray, npt.NDArray[np.uint32]]:
    """Union of two sorted distinct code arrays, OR-ing ``bit`` into the mask of ``new``.

    Works rule by rule so that only the running union and one rule's pairs are
    alive at a time.
    """
    if merged.size == 0:
        return new, np.full(new.size, bit, dtype=np.uint32)
    pos = np.searchsorted(merged, new)
    inside = pos < merged.size
    seen = np.zeros(new.size, dtype=np.bool_)
    seen[inside] = merged[pos[inside]] == new[inside]
    mask[pos[seen]] |= bit
    fresh = new[~seen]
    del new, pos, inside
    if fresh.size == 0:
        return merged, mask
    at = np.searchsorted(merged, fresh)
    merged = np.insert(merged, at, fresh)
    mask = np.insert(mask, at, np.full(fresh.size, bit, dtype=np.uint32))
    return merged, mask


def _sorted_unique(values: IntArray) -> IntArray:
    """Sorted distinct values (a sort beats hashing for these sizes)."""
    if values.size == 0:
        return values
    values = np.sort(values)
    return values[np.r_[True, values[1:] != values[:-1]]]
