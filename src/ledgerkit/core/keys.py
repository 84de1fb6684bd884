"""Dense integer keys of a ledger, computed once and cached on it.

Kernels never hash strings. This module maps every procedure to its encounter
and every entry to its procedure (dense positions), groups entries by
procedure and procedures by encounter (CSR offsets), and packs what the
kernels need of each entry into one byte (``_kernels.codes.pack_code``):

    code = bucket | payer_seq << 4 | live << 6

where ``live`` means "neither negated nor a negation". Tables that are already
grouped (synthetic ledgers, ledgers built by ``Ledger.append`` on grouped data)
cost no sort and the amounts are used zero-copy.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from ledgerkit._kernels import codes as C
from ledgerkit._kernels.entry_codes import pack_entry_codes_nb
from ledgerkit._kernels.keys import (
    counting_order_nb,
    group_starts_nb,
    is_nondecreasing_nb,
    locate_lines_nb,
)
from ledgerkit.core.arrow import (
    arrow_array,
    arrow_strings,
    bool_array,
    codes_in,
    dictionary_codes,
    int_array,
    numpy_array,
    plain,
    valid_array,
)
from ledgerkit.core.compute import pc
from ledgerkit.core.id_index import IdIndex
from ledgerkit.core.schema import KINDS
from ledgerkit.errors import LedgerError

__all__ = ["LedgerKeys", "build_keys", "kind_codes", "dense_unique"]


MAX_POLICIES = 2  # policies cached per ledger (see LedgerKeys.policy_cache)


@dataclass
class LedgerKeys:
    """Integer views of a ledger (all numpy). "Grouped" = sorted by encounter, line."""

    n_encounters: int
    proc_order: np.ndarray | None  # grouped procedure -> procedures row (None: identity)
    enc_proc_start: np.ndarray  # int64[n_enc + 1]
    proc_line: np.ndarray  # int32, grouped
    entry_proc: np.ndarray  # int32, grouped procedure of each entries row (row order)
    entry_order: np.ndarray | None  # grouped entry -> entries row (None: identity)
    proc_entry_start: np.ndarray  # int64[n_proc + 1]
    entry_seq: np.ndarray  # int8, grouped
    entry_kind: np.ndarray  # int8, grouped
    entry_live: np.ndarray  # bool, grouped
    amounts: np.ndarray  # int64, grouped
    enc_n_payers: np.ndarray  # int8 per encounter: 0 self-pay .. 3
    _reasons: tuple | None = field(default=None, repr=False)
    # (policy digest, packed codes) read from a sidecar: used for any policy with that digest
    _stored_codes: tuple | None = field(default=None, repr=False)
    # id(policy) -> (policy, slot): see policy_cache
    _per_policy: dict = field(default_factory=dict, repr=False)
    _encounter_index: IdIndex | None = field(default=None, repr=False)
    # bool per grouped entry: source "remit" (posting computes it on first use)
    remit_mask: np.ndarray | None = field(default=None, repr=False)
    # the procedures' line control numbers as one string chunk (posting matches on them)
    proc_control_numbers: pa.Array | None = field(default=None, repr=False)
    # the remit_ref values of the entries, each at least once, in chunks (posting's
    # duplicate check; an append adds a chunk of its rows' distinct values)
    remit_refs: pa.ChunkedArray | None = field(default=None, repr=False)
    _proc_enc: np.ndarray | None = field(default=None, repr=False)

    @property
    def n_procedures(self) -> int:
        return len(self.proc_line)

    def entry_rows(self, grouped_positions: np.ndarray) -> np.ndarray:
        """Entries-table rows of grouped entry positions (-1 stays -1)."""
        if self.entry_order is None:
            return grouped_positions
        out = np.where(grouped_positions >= 0, self.entry_order[grouped_positions], -1)
        return out

    def proc_rows(self, grouped_positions: np.ndarray) -> np.ndarray:
        """Procedures-table rows of grouped procedure positions (-1 stays -1)."""
        if self.proc_order is None:
            return grouped_positions
        return np.where(grouped_positions >= 0, self.proc_order[grouped_positions], -1)

    def procedure_encounters(self) -> np.ndarray:
        """Encounter position of each grouped procedure (int32; built once, then shared
        with the keys of appended ledgers, whose procedures are the same): a batch's
        encounters are a gather, not a binary search per row."""
        if self._proc_enc is None:
            sizes = np.diff(self.enc_proc_start)
            self._proc_enc = np.repeat(np.arange(self.n_encounters, dtype=np.int32), sizes)
        return self._proc_enc

    def encounter_positions(self, encounter_ids, values) -> np.ndarray:
        """Encounter position of each of ``values`` (-1 when absent or null).

        ``encounter_ids`` is the encounters' id column these keys were built from.
        The ids are fingerprinted once and the index kept (and handed to the keys of
        appended ledgers, whose encounters are the same): a batch is looked up in
        time proportional to the batch, not to the ledger.
        """
        if self._encounter_index is None:
            self._encounter_index = IdIndex(encounter_ids)
        return self._encounter_index.positions(values)

    def policy_cache(self, policy) -> dict:
        """The one cache of what this ledger derives under ``policy``: a dict per policy.

        Everything that depends on the CARC policy is kept here, and only here: the
        packed entry codes (:meth:`packed_codes`) and the derived data of the analytics
        and rules (``ledgerkit.analytics.derived``). Keyed by policy identity
        (``CarcPolicy`` has no ``__eq__`` and ``override`` returns a new object, so a
        changed policy never meets a stale entry); the entry holds the policy, so its id
        cannot be reused while cached. At most :data:`MAX_POLICIES` policies are kept per
        ledger (the arrays are large), the oldest dropped first.
        """
        hit = self._per_policy.get(id(policy))
        if hit is not None and hit[0] is policy:
            return hit[1]
        while len(self._per_policy) >= MAX_POLICIES:
            del self._per_policy[next(iter(self._per_policy))]  # insertion order: oldest
        slot: dict = {}
        self._per_policy[id(policy)] = (policy, slot)
        return slot

    def cached_packed_codes(self, policy) -> np.ndarray | None:
        """The packed codes under ``policy`` if they are at hand (nothing computed)."""
        hit = self._per_policy.get(id(policy))
        if hit is not None and hit[0] is policy and "packed_codes" in hit[1]:
            return hit[1]["packed_codes"]
        if self._stored_codes is not None and self._reasons is not None:
            digest, stored = self._stored_codes
            if digest == self.policy_digest(policy):
                return stored
        return None

    def cached_policies(self) -> list:
        """The policies with a cache entry, oldest first."""
        return [policy for policy, _ in self._per_policy.values()]

    def packed_codes(self, entries: pa.Table | None, policy) -> np.ndarray:
        """The one-byte code of every entry (grouped order) under ``policy`` (cached).

        ``entries`` may be None once :meth:`reason_codes` are cached (keys read from a
        Parquet folder's sidecar): the codes then come from the keys alone.
        """
        slot = self.policy_cache(policy)
        packed = slot.get("packed_codes")
        if packed is None and self._stored_codes is not None:
            digest, stored = self._stored_codes
            if digest == self.policy_digest(policy):
                packed = slot["packed_codes"] = stored
        if packed is None:
            packed = slot["packed_codes"] = self._pack(self.reason_codes(entries), policy)
        return packed

    def _pack(self, reasons, policy) -> np.ndarray:
        """The packed codes in one parallel pass (``buckets_of`` + ``pack_code``)."""
        g_codes, g_values, c_codes, c_values = reasons
        matrix = policy.bucket_matrix(g_values, [v.strip() for v in c_values])
        if matrix.size == 0:  # no reason values: no adjustment reads it
            matrix = np.zeros((1, 1), np.int8)
        order = self.entry_order
        packed = np.empty(len(self.entry_kind), np.int8)
        pack_entry_codes_nb(
            self.entry_kind,
            self.entry_seq,
            self.entry_live,
            g_codes,
            c_codes,
            np.empty(0, np.int64) if order is None else order,
            _BUCKET_OF_KIND,
            matrix,
            packed,
        )
        return packed

    def policy_digest(self, policy) -> str:
        """What the packed codes depend on in ``policy``: a hash of its buckets for the
        (group code, CARC) pairs of this ledger (its reason codes must be at hand)."""
        _, g_values, _, c_values = self._reasons
        matrix = policy.bucket_matrix(g_values, [v.strip() for v in c_values])
        digest = hashlib.sha256(repr((g_values, c_values, matrix.shape)).encode())
        digest.update(matrix.tobytes())
        return digest.hexdigest()

    def set_packed_codes(self, digest: str, packed: np.ndarray) -> None:
        """Packed codes computed elsewhere (a sidecar) under a policy of ``digest``."""
        self._stored_codes = (digest, packed)

    def set_reason_codes(self, group_codes, group_values, carc_codes, carc_values) -> None:
        """Cache reason codes computed elsewhere (a Parquet folder's keys sidecar)."""
        self._reasons = (group_codes, list(group_values), carc_codes, list(carc_values))

    @property
    def has_reason_codes(self) -> bool:
        """True when :meth:`reason_codes` needs no entries table (already computed)."""
        return self._reasons is not None

    def reason_codes(self, entries: pa.Table | None) -> tuple:
        """(group codes, group values, CARC codes, CARC values) of every entries row.

        Dense codes in row order (-1 for null), cached: policy lookups and the
        classify explanation gather from them instead of re-reading strings.
        ``entries`` may be None once they are cached (:attr:`has_reason_codes`).
        """
        if self._reasons is None:
            g_codes, g_values = dictionary_codes(entries["group_code"], smallest=True)
            c_codes, c_values = dictionary_codes(entries["carc"], smallest=True)
            if c_codes.dtype == np.int8:  # CARC codes stay int16 (the sidecar's type)
                c_codes = c_codes.astype(np.int16)
            self._reasons = (g_codes, g_values, c_codes, c_values)
        return self._reasons


def dense_unique(values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(sorted distinct values, position of each value among them) of dense ids in 0..n-1.

    ``np.unique`` of a batch's procedure positions sorts or hashes the batch; dense ids
    need neither: a mark per possible id, then a lookup table.

    Examples
    --------
    >>> u, inverse = dense_unique(np.array([5, 2, 5, 7]), 10)
    >>> u.tolist(), inverse.tolist()
    ([2, 5, 7], [1, 0, 1, 2])
    """
    values = np.asarray(values)
    seen = np.zeros(n, np.bool_)
    seen[values] = True
    uniq = np.flatnonzero(seen)
    # only the marked ids are written, and only they are read; int32 (n is a count of
    # procedures or encounters): half the fresh pages of an int64 table at 10M procedures
    slot = np.empty(n, np.int32)
    slot[uniq] = np.arange(len(uniq), dtype=np.int32)
    return uniq, slot[values].astype(np.int64)


def kind_codes(entries: pa.Table) -> np.ndarray:
    """int8 code of each entry's kind (index into ``schema.KINDS``, -1 unknown)."""
    return codes_in(entries["kind"], arrow_strings(KINDS)).astype(np.int8)


def entry_buckets(entries: pa.Table, policy, reasons: tuple | None = None) -> np.ndarray:
    """int8 bucket code of each entries row (row order).

    ``reasons`` are :meth:`LedgerKeys.reason_codes`, computed here when omitted.
    """
    kind = kind_codes(entries)
    payer_seq = int_array(entries["payer_seq"], np.int8)
    if reasons is None and (kind == KINDS.index("adjustment")).any():
        g_codes, g_values = dictionary_codes(entries["group_code"])
        c_codes, c_values = dictionary_codes(entries["carc"])
        reasons = (g_codes, g_values, c_codes, c_values)
    return buckets_of(kind, payer_seq, reasons, policy)


_BUCKET_OF_KIND = np.array(
    [
        C.CHARGE,
        C.PAID,
        -1,  # adjustments: by group code + CARC below
        C.PATIENT_PAID,
        C.WRITTEN_OFF,
        C.PUSHED_TO_PR,
    ],
    dtype=np.int8,
)


def buckets_of(kind, payer_seq, reasons, policy) -> np.ndarray:
    """int8 bucket of entries given their kind codes, payer_seq and reason codes
    (``reasons`` as :meth:`LedgerKeys.reason_codes`, aligned with ``kind``; needed only
    when there are adjustments)."""
    bucket = _BUCKET_OF_KIND[kind]
    bucket[(kind == KINDS.index("write_off")) & (payer_seq == 0)] = C.PR_WRITTEN_OFF
    is_adj = kind == KINDS.index("adjustment")
    if is_adj.any():
        g_codes, g_values, c_codes, c_values = reasons
        matrix = policy.bucket_matrix(g_values, [v.strip() for v in c_values])
        bucket[is_adj] = matrix[g_codes[is_adj], c_codes[is_adj]]
    return bucket


def build_keys(
    encounters: pa.Table,
    procedures: pa.Table,
    entries: pa.Table,
    previous: LedgerKeys | None = None,
    policy=None,
) -> LedgerKeys:
    """Compute the integer keys, raising :class:`LedgerError` on dangling references.

    ``previous`` are the keys of the same encounters and procedures with the
    first ``len(previous.entry_proc)`` rows of ``entries``: only the rows after
    those are looked up (``Ledger.append`` passes them, so appending a small
    batch does not hash every entry's encounter id again). With ``policy``, the
    packed codes ``previous`` holds under it (if any) are carried to the new keys,
    the new rows' codes computed from those rows alone.
    """
    if previous is not None:
        from ledgerkit.core.keys_append import extend_keys  # it builds on this module

        return extend_keys(previous, encounters, entries, policy)
    enc_ids = encounters["encounter_id"].combine_chunks()
    n_enc = len(enc_ids)
    if pc.count_distinct(enc_ids).as_py() != n_enc:
        first = pc.value_counts(enc_ids).filter(
            pc.greater(pc.struct_field(pc.value_counts(enc_ids), "counts"), 1)
        )
        dup = first[0]["values"].as_py() if len(first) else "?"
        rows = np.flatnonzero(bool_array(pc.equal(enc_ids, dup)))
        raise LedgerError(
            f"encounters rows {rows[:2].tolist()}, column 'encounter_id': duplicate id {dup!r}"
        )

    proc_enc = codes_in(procedures["encounter_id"], enc_ids)
    _dangling(proc_enc, "procedures", "encounter_id", "no such encounter in encounters")
    proc_line_raw = int_array(procedures["line"], np.int64)
    composite = (proc_enc << 32) | (proc_line_raw & 0xFFFFFFFF)
    if is_nondecreasing_nb(composite):
        proc_order = None
        sorted_composite = composite
    else:
        proc_order = np.argsort(composite, kind="stable")
        sorted_composite = composite[proc_order]
    if len(sorted_composite) > 1:
        same = np.flatnonzero(sorted_composite[1:] == sorted_composite[:-1])
        if len(same):
            g = same[0]
            row = int(proc_order[g + 1]) if proc_order is not None else int(g + 1)
            raise LedgerError(
                f"procedures row {row}, columns 'encounter_id'+'line': duplicate procedure "
                f"(line {int(proc_line_raw[row])} appears twice in its encounter)"
            )
    # int32, as the entries' procedure numbers: group_starts_nb compiles once
    proc_enc_sorted = (sorted_composite >> 32).astype(np.int32)
    proc_line = (sorted_composite & 0xFFFFFFFF).astype(np.int32)
    enc_proc_start = np.empty(n_enc + 1, np.int64)
    group_starts_nb(proc_enc_sorted, n_enc, enc_proc_start)

    n_payers = np.zeros(n_enc, np.int8)
    for k in (1, 2, 3):
        present = valid_array(encounters[f"payer{k}_id"])
        n_payers = np.where(present & (n_payers == k - 1), k, n_payers).astype(np.int8)

    entry_proc = _entry_procedures(entries, enc_ids, enc_proc_start, proc_line, 0)
    return _entry_keys(entries, entry_proc, proc_order, enc_proc_start, proc_line, n_payers)


def _entry_procedures(entries, enc_ids, enc_proc_start, proc_line, row_offset, entry_enc=None):
    """Grouped procedure of each entries row (int32); errors name the row.

    ``entry_enc`` (the encounter position of each row) is looked up when omitted.
    """
    if entry_enc is None:
        entry_enc = codes_in(entries["encounter_id"], enc_ids)
    _dangling(entry_enc, "entries", "encounter_id", "no such encounter in encounters", row_offset)
    entry_line = int_array(entries["line"], np.int32)
    entry_proc64 = np.empty(len(entry_enc), np.int64)
    locate_lines_nb(entry_enc, entry_line, enc_proc_start, proc_line, entry_proc64)
    _dangling(
        entry_proc64, "entries", "line", "no such procedure line in that encounter", row_offset
    )
    return entry_proc64.astype(np.int32)


def distinct_strings(column) -> pa.Array:
    """The distinct non-null values of a string column (plain or dictionary-coded, in
    chunks) as one ``string`` array: a dictionary chunk's used values are marked from its
    indices, none of its rows hashed."""
    if isinstance(column, pa.Array):
        column = pa.chunked_array([column])
    parts = []
    for chunk in column.chunks:
        if pa.types.is_dictionary(chunk.type):
            parts.append(used_dictionary_values(chunk))
        else:
            parts.append(pc.unique(chunk.drop_null()))
    return _union(*parts)


def used_dictionary_values(chunk: pa.DictionaryArray) -> pa.Array:
    """The dictionary values a dictionary chunk's rows use, as ``string``, in dictionary
    order: marked from its indices (no sort of every row's index, no row hashed)."""
    idx = numpy_array(chunk.indices.drop_null())
    used = np.zeros(len(chunk.dictionary), np.bool_)
    used[idx] = True
    return chunk.dictionary.filter(pa.array(used)).cast(pa.string())


def _union(*parts) -> pa.Array:
    """Distinct values of string arrays together, as one ``string`` array."""
    parts = [plain(p).cast(pa.string()) for p in parts if len(p)]
    if not parts:
        return pa.array([], pa.string())
    out = pc.unique(pa.chunked_array(parts, pa.string()))
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def _entry_keys(entries, entry_proc, proc_order, enc_proc_start, proc_line, n_payers):
    """Group entries by procedure and gather what the kernels read."""
    n_enc = len(enc_proc_start) - 1
    n_proc = len(proc_line)
    if is_nondecreasing_nb(entry_proc):
        entry_order = None
        proc_entry_start = np.empty(n_proc + 1, np.int64)
        group_starts_nb(entry_proc, n_proc, proc_entry_start)
    else:
        entry_order = np.empty(len(entry_proc), np.int64)
        proc_entry_start = np.empty(n_proc + 1, np.int64)
        counting_order_nb(entry_proc, proc_entry_start, entry_order)

    seq = int_array(entries["payer_seq"], np.int8)
    kind = kind_codes(entries)
    amounts = int_array(entries["amount_cents"], np.int64)
    live = _live(entries)
    if entry_order is not None:
        seq, kind, amounts, live = (a[entry_order] for a in (seq, kind, amounts, live))
    # Kernels get writable arrays only: Numba compiles a second version of every kernel
    # for read-only ones (Arrow's zero-copy views), which a first call from Parquet or a
    # store then paid for (4 s for classify) although `ledgerkit warm` had run.
    seq, amounts = (a if a.flags.writeable else a.copy() for a in (seq, amounts))

    return LedgerKeys(
        n_encounters=n_enc,
        proc_order=proc_order,
        enc_proc_start=enc_proc_start,
        proc_line=proc_line,
        entry_proc=entry_proc,
        entry_order=entry_order,
        proc_entry_start=proc_entry_start,
        entry_seq=seq,
        entry_kind=kind,
        entry_live=live,
        amounts=amounts,
        enc_n_payers=n_payers,
    )


def _live(entries: pa.Table) -> np.ndarray:
    """True for entries that are neither negated nor negations."""
    negates = entries["negates"]
    is_negation = valid_array(negates)
    if not is_negation.any():
        return np.ones(len(entries), dtype=bool)
    targets = numpy_array(pc.drop_null(negates), dtype=np.int64)
    ids = int_array(entries["entry_id"], np.int64)
    if is_nondecreasing_nb(ids):
        # Ids grow with posting order (as append assigns them): binary search
        # the few negated ids instead of hashing every entry id.
        pos = np.minimum(np.searchsorted(ids, targets), len(ids) - 1)
        negated = np.zeros(len(ids), dtype=bool)
        negated[pos[ids[pos] == targets]] = True
    else:
        value_set = arrow_array(targets)
        negated = bool_array(pc.is_in(entries["entry_id"], value_set=value_set))
    return ~(is_negation | negated)


def _dangling(positions, table: str, column: str, why: str, row_offset: int = 0) -> None:
    bad = np.flatnonzero(positions < 0)
    if len(bad):
        more = f" (and {len(bad) - 1} more rows)" if len(bad) > 1 else ""
        row = int(bad[0]) + row_offset
        raise LedgerError(f"{table} row {row}, column {column!r}: {why}{more}")
