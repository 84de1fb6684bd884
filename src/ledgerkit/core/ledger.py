"""The append-only payment ledger: four Arrow tables and their integer keys.

A :class:`Ledger` is immutable. ``append`` and ``negate`` return a new ledger
that shares every existing row with the old one (Arrow chunks are never
copied or changed); ``as_of`` recomputes the state at an earlier time.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ledgerkit._gc import collections_paused
from ledgerkit._kernels.keys import is_nondecreasing_nb
from ledgerkit._memory import freed_memory_reused
from ledgerkit.core.arrow import arrow_array, as_table, int_array, numpy_array, utc_timestamp
from ledgerkit.core.compute import pc
from ledgerkit.core.keys import LedgerKeys, build_keys, dense_unique
from ledgerkit.core.keys_append import extend_keys
from ledgerkit.core.limits import (
    check_actor,
    check_coverage,
    check_movements,
    check_sums,
)
from ledgerkit.core.limits import (
    entry_ids as as_entry_ids,
)
from ledgerkit.core.policy import CarcPolicy
from ledgerkit.core.row_groups import column_array
from ledgerkit.core.schema import TABLES, arrow_schema
from ledgerkit.core.validate import check_entries, check_payers, conform
from ledgerkit.errors import LedgerError

__all__ = ["Ledger", "DEFAULT_TIMELY_FILING_DAYS", "DEFAULT_APPEAL_DAYS"]

# Used for payers missing from the reference data (most US payers allow 90-365
# days to file; 180 days to appeal is a common floor). Override per payer.
DEFAULT_TIMELY_FILING_DAYS = 365
DEFAULT_APPEAL_DAYS = 180


def require_ledger(value, where: str) -> None:
    """Raise a :class:`LedgerError` naming ``where`` unless ``value`` is a ledger.

    Examples
    --------
    >>> require_ledger(None, "classify")
    Traceback (most recent call last):
    ...
    ledgerkit.errors.LedgerError: classify needs a ledger (a ledgerkit.Ledger), got None; \
load one with lk.Ledger.from_parquet(folder), lk.synth.load_sample() or \
lk.LedgerStore(path).ledger()
    """
    if isinstance(value, Ledger):
        return  # (hasattr would read a table a Parquet folder's ledger has not read yet)
    if not all(hasattr(value, name) for name in ("encounters", "entries", "keys", "policy")):
        got = "None" if value is None else f"a {type(value).__name__}"
        raise LedgerError(
            f"{where} needs a ledger (a ledgerkit.Ledger), got {got}; load one with "
            "lk.Ledger.from_parquet(folder), lk.synth.load_sample() or "
            "lk.LedgerStore(path).ledger()"
        )


# Tables of one row per encounter (or payer) whose columns a Parquet folder's ledger
# keeps once read alone: every classify reads encounter_id (a third of a warm call at
# 1M when read again), and they are small beside the procedures and entries.
_KEPT_TABLES = ("encounters", "payers")


class Ledger:
    """A payment ledger: encounters, procedures, entries and payers.

    Build one with :meth:`from_arrow` or :meth:`from_parquet` (or
    ``ledgerkit.synth.generate``). The tables are plain ``pyarrow.Table`` s,
    readable by pandas, polars or DuckDB without copying.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> ledger = lk.synth.generate(50, seed=1)
    >>> ledger
    Ledger(50 encounters, ... procedures, ... entries, ... payers)
    >>> later = ledger.append({"encounter_id": [ledger.encounters["encounter_id"][0].as_py()],
    ...     "line": [1], "payer_seq": [1], "kind": ["charge"],
    ...     "amount_cents": [1000], "actor": ["front desk"]})
    >>> later.entries.num_rows - ledger.entries.num_rows
    1
    """

    def __init__(self, encounters, procedures, entries, payers, policy=None, *, _keys=None):
        # a table, or a sidecar.LazyTable read on first use (Parquet folders with keys)
        self._tables = {
            "encounters": encounters,
            "procedures": procedures,
            "entries": entries,
            "payers": payers,
        }
        self.policy: CarcPolicy = policy or CarcPolicy.default()
        self._keys: LedgerKeys | None = _keys
        self._kept_columns: dict[tuple[str, str], pa.ChunkedArray] = {}
        # (the entry ids increase along the rows, the largest id): read once, then
        # carried by append, so a post reads no column of every entry to number its own
        self._entry_ids: tuple[bool, int | None] | None = None

    def _table(self, name: str) -> pa.Table:
        table = self._tables[name]
        if not isinstance(table, pa.Table):
            table = self._tables[name] = table.load()
        return table

    def column(self, table: str, column: str) -> pa.ChunkedArray:
        """One column of one of the four tables; a table of a Parquet folder not read yet
        stays unread (only that column is read, conformed as the whole table would be).

        Examples
        --------
        >>> import ledgerkit as lk
        >>> lk.synth.generate(3, seed=1).column("encounters", "encounter_id").to_pylist()
        ['E0000001', 'E0000002', 'E0000003']
        """
        held = self._tables[table]
        if isinstance(held, pa.Table):
            return held[column]
        if table not in _KEPT_TABLES:
            return held.column(column)
        key = (table, column)
        if key not in self._kept_columns:
            self._kept_columns[key] = held.column(column)
        return self._kept_columns[key]

    def _holds_column(self, table: str, column: str) -> bool:
        # whether column() answers without reading a file
        return isinstance(self._tables[table], pa.Table) or (table, column) in self._kept_columns

    def array(self, table: str, column: str, dtype=None) -> np.ndarray:
        """One number column of one of the four tables as a numpy array.

        A column of a Parquet folder the ledger does not hold yet is read a row group
        at a time into the one array (``core.row_groups.column_array``): no whole-column
        Arrow buffer besides it.
        Nulls are refused (``LedgerError``); for a nullable column's null flags use
        ``core.row_groups.valid_flags``.

        Examples
        --------
        >>> import ledgerkit as lk
        >>> lk.synth.generate(3, seed=1).array("procedures", "units").tolist()
        [1, 1, 1, 1, 1]
        """
        return column_array(self, table, column, dtype)

    encounters = property(lambda self: self._table("encounters"), doc="Encounters table.")
    procedures = property(lambda self: self._table("procedures"), doc="Procedures table.")
    entries = property(lambda self: self._table("entries"), doc="Entries table.")
    payers = property(lambda self: self._table("payers"), doc="Payers table.")

    # ------------------------------------------------------------------ build
    @classmethod
    @freed_memory_reused()
    def from_arrow(cls, encounters, procedures, entries, payers=None, *, policy=None) -> Ledger:
        """Validate four tables and build a ledger.

        Parameters
        ----------
        encounters, procedures, entries : pyarrow.Table (or dict of columns / DataFrame)
            See ``ledgerkit.schema.describe()`` for every column.
        payers : pyarrow.Table, optional
            Payer reference data. When omitted, every payer id seen in the
            encounters gets class ``"other"``, ``DEFAULT_TIMELY_FILING_DAYS``
            and ``DEFAULT_APPEAL_DAYS``.
        policy : CarcPolicy, optional
            CARC policy; ``CarcPolicy.default()`` when omitted.

        Raises
        ------
        LedgerError
            Missing or mistyped columns, nulls in required fields, unknown
            encounters or lines, bad negations, duplicate ids, amounts beyond
            2**53 cents or procedure sums that could overflow int64, negative
            charges (reduce a charge by negating it), payer entries whose
            ``payer_id`` is not the encounter's payer for that ``payer_seq``,
            encounters whose payer is not in ``payers``.

        Notes
        -----
        Movement caps and credit balances are checked where money moves
        (:meth:`append`); replay a loaded history through them with
        ``ledgerkit.core.limits.check_history``.
        """
        encounters = conform(as_table(encounters), "encounters")
        procedures = conform(as_table(procedures), "procedures")
        entries = conform(as_table(entries), "entries")
        if payers is None:
            payers = default_payers(encounters)
        payers = conform(as_table(payers), "payers")
        keys = checked_keys(encounters, procedures, entries, payers)
        return cls(encounters, procedures, entries, payers, policy, _keys=keys)

    @classmethod
    def from_837(cls, claims, payers=None, *, policy=None, at=None) -> Ledger:
        """A ledger of the encounters, procedures and charges of 837 claims.

        One encounter per claim id (CLM01, which the payer's 835 returns as
        CLP01), one procedure per service line (with its REF*6R line control
        number, which 835 lines are matched by first) and one ``charge`` entry
        per procedure on the primary payer (see ``ledgerkit.core.claims_in``).
        Replacement and void claims (CLM05-3 7 and 8) are applied after the
        originals, in file order, as negations and new charges
        (``ledgerkit.core.resubmissions``); one whose original is not among
        the claims is refused.

        Parameters
        ----------
        claims : ledgerkit.x12.Claims
            What :func:`ledgerkit.read_837` read.
        payers : pyarrow.Table, optional
            Payer reference data; built from the payers the claims name when
            omitted (class from the claim filing indicator, SBR09).
        policy : CarcPolicy, optional
        at : datetime, optional
            ``posted_at`` of the charges (now when omitted).

        Examples
        --------
        >>> import ledgerkit as lk
        >>> raw = (b"ST*837*1*005010X222A1~HL*1**20*1~HL*2*1*22*0~SBR*P*18*******CI~"
        ...        b"NM1*PR*2*ACME*****PI*ACME1~CLM*ENC1*150***11:B:1~LX*1~"
        ...        b"SV1*HC:99213*150*UN*1~DTP*472*D8*20250102~SE*10*1~")
        >>> ledger = lk.Ledger.from_837(lk.read_837(raw))
        >>> ledger
        Ledger(1 encounters, 1 procedures, 1 entries, 1 payers)
        >>> ledger.entries["amount_cents"].to_pylist(), ledger.payers["payer_class"].to_pylist()
        ([15000], ['commercial'])
        """
        from ledgerkit.core.claims_in import ledger_tables_from_claims, payers_from_claims
        from ledgerkit.core.resubmissions import apply_resubmissions, split_resubmissions

        originals, redo = split_resubmissions(claims)
        encounters, procedures, entries = ledger_tables_from_claims(originals, at=at)
        if payers is None:
            payers = payers_from_claims(claims)
        ledger = cls.from_arrow(encounters, procedures, entries, payers, policy=policy)
        return apply_resubmissions(ledger, claims, redo, at=at) if len(redo) else ledger

    def add_claims(self, claims, *, at=None) -> Ledger:
        """A new ledger with the encounters, procedures and charges of ``claims`` added.

        Original claims (CLM05-3 1) of encounters already in the ledger are
        refused; payers the ledger does not know are added as :meth:`from_837`
        builds them. A replacement claim (7) of an encounter the ledger holds
        replaces its charges and a void (8) negates them, append-only: live
        charges are negated and the replacement's lines charged (see
        ``ledgerkit.core.resubmissions``). See :meth:`from_837`.

        Examples
        --------
        >>> import ledgerkit as lk
        >>> raw = (b"ST*837*1*005010X222A1~HL*1**20*1~HL*2*1*22*0~SBR*P*18*******CI~"
        ...        b"NM1*PR*2*ACME*****PI*ACME1~CLM*ENC1*150***11:B:1~LX*1~"
        ...        b"SV1*HC:99213*150*UN*1~DTP*472*D8*20250102~SE*10*1~")
        >>> ledger = lk.Ledger.from_837(lk.read_837(raw))
        >>> fixed = ledger.add_claims(lk.read_837(raw.replace(b"150", b"120")
        ...                                          .replace(b"11:B:1", b"11:B:7")))
        >>> fixed.entries["amount_cents"].to_pylist(), fixed.entries["negates"].to_pylist()
        ([15000, -15000, 12000], [None, 0, None])
        >>> void = fixed.add_claims(lk.read_837(raw.replace(b"11:B:1", b"11:B:8")))
        >>> sum(void.entries["amount_cents"].to_pylist())
        0
        """
        from ledgerkit.core.claims_in import ledger_tables_from_claims, payers_from_claims
        from ledgerkit.core.resubmissions import apply_resubmissions, split_resubmissions

        originals, redo = split_resubmissions(claims)
        enc, proc, new = ledger_tables_from_claims(
            originals, at=at, first_entry_id=self.next_entry_id()
        )
        known = pc.is_in(enc["encounter_id"], value_set=self.encounters["encounter_id"])
        if pc.any(known).as_py():
            rows = np.flatnonzero(known.to_numpy(zero_copy_only=False))[:5].tolist()
            raise LedgerError(
                f"add_claims: encounters of claims rows {rows} are already in the ledger; "
                "nothing was added"
            )
        payers = payers_from_claims(claims)
        payers = payers.filter(pc.invert(pc.is_in(payers["payer_id"], self.payers["payer_id"])))
        ledger = Ledger.from_arrow(
            pa.concat_tables([self.encounters, conform(enc, "encounters")]),
            pa.concat_tables([self.procedures, conform(proc, "procedures")]),
            pa.concat_tables([self.entries, conform(new, "entries")]),
            pa.concat_tables([self.payers, conform(payers, "payers")]),
            policy=self.policy,
        )
        return apply_resubmissions(ledger, claims, redo, at=at) if len(redo) else ledger

    @classmethod
    @freed_memory_reused()
    @collections_paused()  # it loads Numba and the kernels: see ledgerkit/_gc.py
    def from_parquet(cls, folder, *, policy=None) -> Ledger:
        """Read a ledger written by :meth:`to_parquet` (or four Parquet tables).

        When the folder's keys sidecar matches its tables byte for byte, no string is
        hashed and each table is read on first use; otherwise the columns the keys and
        checks read are read and validated (as :meth:`from_arrow` does) and the others
        are read on first use, their types and nulls checked from the Parquet footers
        (see ``ledgerkit.core.sidecar`` and ``ledgerkit.core.parquet_read``).

        Raises
        ------
        LedgerError
            ``folder`` is not a ledger folder, one of its four files is not Parquet
            (the message names the file), or the tables fail :meth:`from_arrow`'s checks.

        Examples
        --------
        >>> import tempfile, ledgerkit as lk
        >>> ledger = lk.synth.generate(30, seed=1)
        >>> back = lk.Ledger.from_parquet(ledger.to_parquet(tempfile.mkdtemp()))
        >>> back.entries.equals(ledger.entries)
        True
        """
        from ledgerkit.core import parquet_read, sidecar

        folder = Path(folder)
        for name in TABLES:
            path = sidecar.table_path(folder, name)
            if not path.exists():
                what = "is a file, not" if folder.is_file() else "is not"
                raise LedgerError(
                    f"{folder}: {what} a ledger folder (no {name}.parquet in it; write one "
                    "with Ledger.to_parquet(folder))"
                )
        stored = sidecar.read_keys(folder)
        if stored is not None:
            keys, rows = stored
            lazy = {name: sidecar.LazyTable(folder, name, rows[name]) for name in TABLES}
            return cls(**lazy, policy=policy, _keys=keys)
        # No trusted sidecar: every check of from_arrow, on the columns they read (the
        # others' types and nulls from the footers; they are read on first use).
        parts = parquet_read.read_parts(folder)
        checked = {name: read for name, (read, _) in parts.items()}
        keys = checked_keys(**checked)
        keys.reason_codes(checked["entries"])  # while the columns are at hand
        return cls(**{name: part for name, (_, part) in parts.items()}, policy=policy,
                   _keys=keys)  # fmt: skip

    def to_parquet(self, folder) -> Path:
        """Write the four tables as ``<name>.parquet`` in ``folder``, then the keys sidecar
        that lets :meth:`from_parquet` skip rebuilding the keys."""
        from ledgerkit.core import sidecar

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / sidecar.SIDECAR).unlink(missing_ok=True)  # never beside other tables
        for name in TABLES:
            tmp = folder / f".{name}.parquet.tmp"
            pq.write_table(getattr(self, name), tmp)
            tmp.replace(folder / f"{name}.parquet")  # whole file or nothing
        sidecar.write_keys(folder, self.keys, self.reason_codes(), self.policy)
        return folder

    # ------------------------------------------------------------------ keys
    @property
    def keys(self) -> LedgerKeys:
        """Dense integer keys (built once, then cached on this ledger)."""
        if self._keys is None:
            with freed_memory_reused():
                self._keys = build_keys(self.encounters, self.procedures, self.entries)
        return self._keys

    def packed_codes(self, policy: CarcPolicy | None = None) -> np.ndarray:
        """One byte per entry (grouped order): bucket, payer and liveness under ``policy``
        (this ledger's by default); cached on the keys. See ``core.keys``."""
        return self.keys.packed_codes(self._entries_for_codes(), policy or self.policy)

    def reason_codes(self) -> tuple:
        """Dense group-code and CARC codes of every entry; see ``LedgerKeys.reason_codes``."""
        return self.keys.reason_codes(self._entries_for_codes())

    def _entries_for_codes(self) -> pa.Table | None:
        # keys read from a sidecar carry the reason codes: the entries stay unread
        return None if self.keys.has_reason_codes else self.entries

    # ------------------------------------------------------------------ change
    def append(
        self, entries, *, at: dt.datetime | None = None, allow_credit: bool = False
    ) -> Ledger:
        """A new ledger with ``entries`` appended; this one is unchanged.

        ``entry_id`` (next ids), ``posted_at`` (``at`` or now), ``source``
        (``"manual"``) and ``payer_id`` (from the encounter's coverage and
        ``payer_seq``) are filled when absent. The whole batch is validated
        first: it posts whole or not at all. No entries (an empty list or
        table) gives this same ledger back.

        Each new transfer or write-off is checked, in the order given, against
        the state the entries before it leave (DOMAIN.md, Settled question 3):
        a ``transfer_to_pr`` moves at most the payer balance (balance - open PR)
        of its procedure, a write-off at most the payer balance (``payer_seq``
        1..3) or the open PR (``payer_seq`` 0). The batch may not leave open PR
        above a balance, nor a balance below 0 (unless ``allow_credit``).

        Parameters
        ----------
        entries : pyarrow.Table, dict of columns or list of row dicts
        at : datetime, optional
            ``posted_at`` of entries that have none (default: now).
        allow_credit : bool
            Accept entries that take a procedure's balance below 0 (a credit:
            an overpayment to refund or apply). Refused by default; a credit
            shows as ``credit`` in ``ledgerkit.balances``.

        Raises
        ------
        LedgerError
            A row-level problem (see :meth:`from_arrow`), a movement above its
            cap, or a credit balance without ``allow_credit``; the message
            names the row, the column and the cap in cents.

        Examples
        --------
        >>> import ledgerkit as lk
        >>> ledger = lk.synth.generate(20, seed=1)
        >>> ledger.append([]) is ledger
        True
        """
        return self._append(entries, at=at, allow_credit=allow_credit)

    def append_located(self, entries: pa.Table, procedures: np.ndarray, *, at=None) -> Ledger:
        """:meth:`append` for a caller that built ``entries`` from known procedures
        (posting): ``procedures[i]`` is the grouped procedure position
        (``ledger.keys``) of row ``i``, so the key update looks no encounter id up
        (5.5M ids hashed and searched at 1M claims). Every check of :meth:`append`
        still runs; the caller answers for the positions matching the rows'
        ``encounter_id`` and ``line``.

        Examples
        --------
        >>> import ledgerkit as lk
        >>> ledger = lk.synth.generate(20, seed=1)
        >>> row = ledger.entries.slice(0, 1).drop_columns(["entry_id"])
        >>> at = ledger.keys.entry_proc[:1]
        >>> ledger.append_located(row, at).keys.proc_entry_start[-1] - len(ledger.entries)
        np.int64(1)
        """
        return self._append(entries, at=at, procedures=np.asarray(procedures))

    def _append(self, entries, *, at=None, allow_credit=False, procedures=None) -> Ledger:
        if isinstance(entries, (list, tuple)) and not entries:
            return self
        new = as_table(entries)
        n = new.num_rows
        if n == 0:
            return self
        if "entry_id" not in new.column_names:
            start = self.next_entry_id()
            new = new.append_column("entry_id", pa.array(np.arange(start, start + n)))
        if "posted_at" not in new.column_names:
            when = at or dt.datetime.now(dt.UTC)
            new = new.append_column(
                "posted_at", pa.array([when] * n, arrow_schema("entries").field("posted_at").type)
            )
        if "source" not in new.column_names:
            new = new.append_column("source", pa.array(["manual"] * n))
        if "payer_seq" in new.column_names:
            if "payer_id" not in new.column_names:
                new = new.append_column("payer_id", self._coverage_payer(new))
            elif new["payer_id"].null_count:  # rows that name no payer: their coverage's
                filled = pc.coalesce(new["payer_id"].cast(pa.string()), self._coverage_payer(new))
                new = new.set_column(new.column_names.index("payer_id"), "payer_id", filled)
        new = conform(new, "entries")
        increasing, top = self._entry_id_range()
        keys_before = self.keys
        # amounts and signs too; with the keys and the top id, over the batch's rows only
        check_entries(new, existing=self.entries, keys=keys_before,
                      top_id=top if increasing else None)  # fmt: skip
        n_old = self.entries.num_rows
        combined = pa.concat_tables([self.entries, new])
        id_range = _appended_id_range(increasing, top, new["entry_id"])  # (validated)
        keys = extend_keys(
            keys_before, self.encounters, combined, self.policy, ids_increase=id_range[0],
            new_procedures=procedures,
        )  # fmt: skip
        new_enc = _entry_encounters(keys, n_old)
        # only the encounters the batch touches: the others' coverage was checked before
        touched_enc, new_enc = dense_unique(new_enc, keys.n_encounters)
        coverage = _sorted_rows(
            self.encounters, touched_enc, ("payer1_id", "payer2_id", "payer3_id")
        )
        check_coverage(coverage, self.payers, new, new_enc, encounter_rows=touched_enc)
        touched = dense_unique(keys.entry_proc[n_old:], keys.n_procedures)
        check_sums(keys, touched[0], row_offset=n_old)
        check_movements(keys, combined, self.policy, n_old, allow_credit=allow_credit,
                        touched=touched)  # fmt: skip
        out = Ledger(
            self.encounters, self.procedures, combined, self.payers, self.policy, _keys=keys
        )
        out._entry_ids = id_range
        return out

    def negate(self, entry_ids, *, actor: str, note: str, at=None) -> Ledger:
        """A new ledger where each of ``entry_ids_`` is undone by a negation entry.

        Parameters
        ----------
        entry_ids : sequence of int
            Entry ids (integers; an empty list gives this same ledger back).
        actor, note : str
            Who negates, and why (both required, as for every review action).

        Raises
        ------
        LedgerError
            An id that is not an integer, does not exist, is already negated or is
            itself a negation; an empty actor or note; a negation that would leave
            a credit balance (negate the payments first).
        """
        check_actor(actor, note, "negate")
        ids = as_entry_ids(entry_ids)
        if not len(ids):
            return self
        ids = pa.array(ids)
        rows = pc.index_in(ids, value_set=self.entries["entry_id"].combine_chunks())
        if rows.null_count:
            missing = ids.filter(pc.is_null(rows))[0].as_py()
            raise LedgerError(f"negate: entry {missing} does not exist in entries")
        originals = self.entries.take(rows)
        new = {
            "encounter_id": originals["encounter_id"],
            "line": originals["line"],
            "payer_seq": originals["payer_seq"],
            "payer_id": originals["payer_id"],
            "kind": originals["kind"],
            "group_code": originals["group_code"],
            "carc": originals["carc"],
            "rarc": originals["rarc"],
            "amount_cents": pc.negate(originals["amount_cents"]),
            "negates": originals["entry_id"],
            "source": pa.array(["manual"] * len(ids)),
            "actor": pa.array([actor] * len(ids)),
            "note": pa.array([note] * len(ids)),
        }
        return self.append(pa.table(new), at=at)

    def _coverage_payer(self, new: pa.Table) -> pa.Array:
        """payer_id of each new entry from its encounter's coverage and payer_seq."""
        pos = pc.index_in(new["encounter_id"], value_set=self.encounters["encounter_id"])
        seq = numpy_array(new["payer_seq"])
        out = pa.nulls(new.num_rows, pa.string())
        for k in (1, 2, 3):
            ids = self.encounters[f"payer{k}_id"].cast(pa.string()).take(pos)
            out = pc.if_else(pa.array(seq == k), ids, out)
        return out

    def as_of(self, timestamp) -> Ledger:
        """The ledger as it stood at ``timestamp`` (entries posted at or before it)."""
        ts = pa.scalar(utc_timestamp(timestamp), arrow_schema("entries").field("posted_at").type)
        mask = pc.less_equal(self.entries["posted_at"], ts)
        entries = self.entries.filter(mask)
        return Ledger(self.encounters, self.procedures, entries, self.payers, self.policy)

    def with_policy(self, policy: CarcPolicy) -> Ledger:
        """The same ledger read under another CARC policy."""
        return Ledger(**self._tables, policy=policy, _keys=self._keys)  # nothing read yet

    # ------------------------------------------------------------------ look
    def next_entry_id(self) -> int:
        """One more than the largest entry id (1 for no entries): the id ``append``
        gives the first entry of a batch that has none.

        Examples
        --------
        >>> import ledgerkit as lk
        >>> ledger = lk.synth.generate(5, seed=1)
        >>> ledger.next_entry_id() == max(ledger.entries["entry_id"].to_pylist()) + 1
        True
        """
        top = self._entry_id_range()[1]
        return 1 if top is None else top + 1

    def _entry_id_range(self) -> tuple[bool, int | None]:
        """(the entry ids increase along the rows, the largest id or None): one read
        of the ids on the first call (no copy of them), then kept."""
        if self._entry_ids is None:
            column = self.entries["entry_id"]
            increasing, last = True, None
            for chunk in column.chunks:
                if len(chunk):
                    # a view of the chunk's buffer; ids never repeat, so in order they increase
                    ids = int_array(chunk, np.int64)
                    fits = last is None or int(ids[0]) > last
                    increasing = increasing and fits and is_nondecreasing_nb(ids)
                    last = int(ids[-1])
            if not increasing:
                top = pc.max(column).as_py()
                last = None if top is None else int(top)
            self._entry_ids = (increasing, last)
        return self._entry_ids

    def entries_of(self, encounter_id: str) -> pa.Table:
        """Every entry of one encounter, in posting order, negations included."""
        mask = pc.equal(self.entries["encounter_id"], encounter_id)
        return self.entries.filter(mask).sort_by([("entry_id", "ascending")])

    def __repr__(self) -> str:
        n = {name: table.num_rows for name, table in self._tables.items()}
        return (
            f"Ledger({n['encounters']} encounters, {n['procedures']} "
            f"procedures, {n['entries']} entries, {n['payers']} payers)"
        )


def checked_keys(encounters, procedures, entries, payers) -> LedgerKeys:
    """The keys of conformed tables, after every check of :meth:`Ledger.from_arrow`.

    The tables may hold only the columns the checks and keys read
    (``validate.READ_COLUMNS``): ``from_parquet`` reads the others on first use.
    """
    check_payers(payers)
    check_entries(entries)
    keys = build_keys(encounters, procedures, entries)
    check_sums(keys)
    check_coverage(encounters, payers, entries, _entry_encounters(keys))
    return keys


def _entry_encounters(keys: LedgerKeys, first_row: int = 0) -> np.ndarray:
    """Encounter position of each entries row from ``first_row`` on (from the keys)."""
    procs = keys.entry_proc[first_row:]
    if len(procs) < keys.n_procedures:  # a batch appended: a gather per row
        return keys.procedure_encounters()[procs]
    # every entry: each procedure's encounter spread once, then gathered per entry (a
    # binary search per entry missed the cache on every step at 10M)
    sizes = np.diff(keys.enc_proc_start)
    return np.repeat(np.arange(keys.n_encounters, dtype=np.int32), sizes)[procs]


def _appended_id_range(increasing: bool, top, new_ids) -> tuple[bool, int | None]:
    """The entry id range after appending ``new_ids`` (validated: no id repeats, so ids in
    order increase) to entries whose range was (``increasing``, ``top``)."""
    ids = int_array(new_ids, np.int64)
    if increasing and (top is None or int(ids[0]) > top) and is_nondecreasing_nb(ids):
        return True, int(ids[-1])
    return False, int(ids.max()) if top is None else max(top, int(ids.max()))


def _sorted_rows(table: pa.Table, rows: np.ndarray, columns) -> pa.Table:
    """``columns`` of ``table`` at ``rows`` (ascending), taken chunk by chunk with the
    chunks kept (Arrow's take of a column in chunks joins them first: a copy of every
    encounter's payer ids at each append; dictionaries stay dictionaries)."""
    out = {}
    for name in columns:
        column, parts, start = table[name], [], 0
        for chunk in column.chunks:
            lo, hi = np.searchsorted(rows, [start, start + len(chunk)])
            if hi > lo:
                parts.append(chunk.take(arrow_array(rows[lo:hi] - start)))
            start += len(chunk)
        out[name] = pa.chunked_array(parts, column.type)
    return pa.table(out)


def default_payers(encounters: pa.Table) -> pa.Table:
    """Payer reference rows for every payer id named in ``encounters``."""
    ids = set()
    for k in (1, 2, 3):
        col = encounters[f"payer{k}_id"]
        ids.update(v for v in pc.unique(col.cast(pa.string())).to_pylist() if v is not None)
    ids = sorted(ids)
    return pa.table(
        {
            "payer_id": pa.array(ids, pa.string()),
            "name": pa.array(ids, pa.string()),
            "payer_class": pa.array(["other"] * len(ids)),
            "timely_filing_days": pa.array([DEFAULT_TIMELY_FILING_DAYS] * len(ids), pa.int32()),
            "appeal_days": pa.array([DEFAULT_APPEAL_DAYS] * len(ids), pa.int32()),
        }
    )
