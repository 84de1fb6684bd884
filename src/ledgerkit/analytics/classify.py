"""Encounter classes, stages and their explanation (DOMAIN.md, "Classes", "Stages").

Over the procedures a payer adjudicated (a live payment or adjustment from
payer_seq >= 1):

- DENIAL: the encounter's allowed amount is 0 as a whole and some procedure
  is denied entirely (allowed 0 *and* a live denial);
- PARTIAL_DENIAL: allowed > 0 and some procedure is denied entirely;
- UNRESOLVED: no procedure denied entirely, but some amount was denied (by
  any payer: a primary's denial stays when a secondary pays its share);
- PAID: none of the above, including lines brought to allowed $0 by
  contractual adjustments alone (an encounter of only such lines is PAID at $0);
- AWAITING: no payer has adjudicated any procedure yet.

The class says what the payers decided; ``balanced`` says whether work is left
(DOMAIN.md, Settled questions 1 and 2).
"""

from __future__ import annotations

import sys
import weakref

import numpy as np
import pyarrow as pa

from ledgerkit._gc import collections_paused
from ledgerkit._kernels import classify as K
from ledgerkit._kernels import codes as C
from ledgerkit._kernels import strings as S
from ledgerkit._kernels.balances import FIGURES
from ledgerkit._kernels.chunks import CHUNK
from ledgerkit._kernels.loading import load_first
from ledgerkit.core.arrow import arrow_array, arrow_strings, codes_in
from ledgerkit.core.background import Background
from ledgerkit.core.ledger import Ledger, require_ledger

__all__ = ["classify", "CLASSES", "STAGES", "WORKLIST_CLASSES", "encounter_figures"]

CLASSES = C.CLASS_NAMES
STAGES = C.STAGE_NAMES
WORKLIST_CLASSES = ("DENIAL", "PARTIAL_DENIAL", "UNRESOLVED")


def encounter_figures(ledger: Ledger, policy=None, pending=None, figures=FIGURES):
    """Run the one-pass kernel: (figures, class, stage, last payer, balanced, explanation).

    ``figures`` is an int64 matrix with one row per name asked for (in the order
    given); ``explanation`` the kernel's per-encounter (line, group code, CARC
    code, amount, payer_seq) arrays, codes indexing ``ledger.reason_codes()``'s
    values (-1: none).
    """
    return _kernel_outputs(ledger, policy, pending, figures)[:6]


def _kernel_outputs(ledger: Ledger, policy, pending, figures):
    # encounter_figures' arrays, and the kernel's validity bitmaps (rows K.BIT_*)
    require_ledger(ledger, "classify")
    policy = policy or ledger.policy
    kept = _figure_rows(figures)
    keys = ledger.keys
    codes = ledger.packed_codes(policy)
    g_codes, _, c_codes, _ = ledger.reason_codes()
    n_enc = keys.n_encounters
    # One block for every output: numpy backs 4 MB or more with huge pages, and
    # fresh pages are slow to fill on these machines (STYLE.md).
    n_values = 8 * n_enc * (len(kept) + 1)
    n_small = -(-K.N_SMALL * n_enc // 8) * 8  # the int32 part stays aligned
    n_codes = 4 * K.N_CODES * n_enc
    n_bytes = -(-n_enc // 8)  # one bit per encounter
    block = _output_block(ledger, n_values + n_small + n_codes + K.N_BITS * n_bytes)
    values = block[:n_values].view(np.int64).reshape(len(kept) + 1, n_enc)
    small = block[n_values : n_values + K.N_SMALL * n_enc].view(np.int8).reshape(K.N_SMALL, n_enc)
    at = n_values + n_small
    codes32 = block[at : at + n_codes].view(np.int32).reshape(K.N_CODES, n_enc)
    bits = block[at + n_codes :].reshape(K.N_BITS, n_bytes)
    args = (
        codes,
        keys.amounts,
        keys.enc_proc_start,
        keys.proc_entry_start,
        keys.enc_n_payers,
        _pending_mask(ledger, pending),
        kept,
        keys.proc_line,
        _NO_ORDER if keys.entry_order is None else keys.entry_order,
        g_codes,
        c_codes,
        values,
        small,
        codes32,
        bits,
        _chunk_scratch(n_enc),
    )
    load_first(K.classify_nb, *args)  # a fresh process's first call: see _kernels/loading.py
    K.classify_nb(*args)
    explanation = (
        codes32[K.CODE_LINE],
        codes32[K.CODE_GROUP],
        codes32[K.CODE_CARC],
        values[len(kept)],
        small[K.SMALL_PAYER],
    )
    return (
        values[: len(kept)],
        small[K.SMALL_CLASS],
        small[K.SMALL_STAGE],
        small[K.SMALL_LAST_PAYER],
        small[K.SMALL_BALANCED].view(np.bool_),
        explanation,
        bits,
    )


# The output block of the last call per ledger, for the next call to fill again when
# nothing holds a view of it any more (the ledger's collection frees it).
_SPARE_OUTPUTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _output_block(ledger: Ledger, n_bytes: int) -> np.ndarray:
    """``n_bytes`` of memory for the kernel's outputs: the last call's block when
    nothing else refers to it, else fresh memory.

    The table a call returns shares the block (Arrow wraps its numpy views without a
    copy), and every view or Arrow buffer made from it keeps a reference to it: a block
    referred to only here belongs to no table still alive, so filling it again changes
    no answer anyone holds. At 10M procedures the block is about 250 MB, whose first
    touch (page faults) took as long as the kernel.
    """
    block = _SPARE_OUTPUTS.pop(ledger, None)  # atomic: two threads never share one
    # getrefcount counts its own argument: 2 means only this function holds it
    if block is None or block.nbytes != n_bytes or sys.getrefcount(block) > 2:
        block = np.empty(n_bytes, np.uint8)
    _SPARE_OUTPUTS[ledger] = block
    return block


def _chunk_scratch(n_enc: int) -> np.ndarray:
    """The kernel's working memory, one zeroed row per chunk of encounters."""
    return np.zeros((-(-n_enc // CHUNK), K.CHUNK_SCRATCH), np.int64)


_NO_ORDER = np.empty(0, np.int64)  # entries already in grouped order
_NO_PENDING = np.empty(0, np.bool_)  # no encounter waits for review


def _figure_rows(figures) -> np.ndarray:
    if isinstance(figures, str):
        figures = (figures,)
    unknown = [name for name in figures if name not in FIGURES]
    if unknown:
        raise ValueError(f"unknown figure {unknown[0]!r}: choose from {', '.join(FIGURES)}")
    return np.array([FIGURES.index(name) for name in figures], np.int64)


@collections_paused()  # often a fresh process's first kernel: see ledgerkit/_gc.py
def classify(ledger: Ledger, *, policy=None, pending=None, figures=FIGURES) -> pa.Table:
    """One row per encounter: class, stage, balanced, figures and the explanation.

    Classes (what the payers decided; over the procedures a payer adjudicated,
    a procedure is *denied entirely* when its allowed is 0 and it carries a
    live denial):

    - ``DENIAL``: allowed is 0 for the whole encounter, and something is denied;
    - ``PARTIAL_DENIAL``: some procedure has allowed > 0 and at least one is
      denied entirely;
    - ``UNRESOLVED``: every procedure has allowed > 0, but some amount was denied;
    - ``PAID``: none of the above (zero-allowed lines only: PAID at $0);
    - ``AWAITING``: no remit yet.

    Stages (who owes the balance now): ``payer_1`` .. ``payer_3``, ``patient``
    (only open PR is left), ``finalized`` (balance 0) or
    ``finalization_pending`` (balance 0, remits still wait for review).
    *Balanced* means a balance of exactly 0. Every word, figure and bucket is
    defined in docs/glossary.md (in the repository).

    Parameters
    ----------
    ledger : Ledger
    policy : CarcPolicy, optional
        Defaults to ``ledger.policy``.
    pending : iterable of str, optional
        Encounter ids with remits waiting for review: a zero balance is then
        ``finalization_pending`` instead of ``finalized``.
    figures : sequence of str, optional
        Which figure columns to include, in this order (default: all of
        ``ledgerkit.balances``'s, in its order). Asking only for what you read
        saves the writing of the others (``balanced`` is always there).

    Returns
    -------
    pyarrow.Table
        ``encounter_id``, ``class``, ``stage``, ``balanced``, ``last_payer_seq``,
        the figures of :func:`ledgerkit.balances` (encounter level), and the
        explanation: ``explain_line`` (procedure line), ``explain_group``,
        ``explain_carc`` (the largest live denial on it, of any payer),
        ``explain_amount`` (denied on that line, by every payer; > 0),
        ``explain_payer_seq`` (the payer that posted that denial; its id is the
        encounter's ``payer{k}_id``), null for PAID and AWAITING. Every payer's live denials
        count, so a primary's denial stays open when a secondary pays its
        share; a procedure is denied entirely only when its allowed is 0 and
        it carries a live denial (DOMAIN.md, Settled questions 1 and 2).

    Examples
    --------
    >>> import ledgerkit as lk
    >>> ledger = lk.synth.generate(200, seed=7)
    >>> table = lk.classify(ledger)
    >>> sorted(set(table["class"].to_pylist())) <= sorted(lk.CLASSES)
    True
    >>> lk.classify(ledger, figures=["balance"]).column_names[:7]
    ['encounter_id', 'class', 'stage', 'balanced', 'last_payer_seq', 'balance', 'explain_line']
    """
    figures = (figures,) if isinstance(figures, str) else tuple(figures)
    require_ledger(ledger, "classify")
    encounter_ids = _encounter_ids(ledger)
    values, enc_class, enc_stage, enc_last, _, explanation, bits = _kernel_outputs(
        ledger, policy, pending, figures
    )
    n_enc = len(enc_class)
    # Arrow arrays over the kernel's outputs, validity bitmaps included: no copy
    # (arrow_array, not pa.array: a fresh process's first pa.array imports pandas)
    columns = {
        "encounter_id": encounter_ids.result(),
        "class": pa.DictionaryArray.from_arrays(arrow_array(enc_class), arrow_strings(CLASSES)),
        "stage": pa.DictionaryArray.from_arrays(arrow_array(enc_stage), arrow_strings(STAGES)),
        "balanced": _from_buffers(pa.bool_(), n_enc, None, bits[K.BIT_BALANCED]),
        "last_payer_seq": arrow_array(enc_last),
    }
    for i, name in enumerate(figures):
        columns[name] = arrow_array(values[i])
    columns.update(_explanation(ledger, n_enc, *explanation, bits))
    return pa.table(columns)


def _encounter_ids(ledger: Ledger):
    """The encounter ids (``.result()``): a Parquet folder's, not read yet, are read (the
    column alone) in a thread while the kernel loads and runs; Arrow reads outside the GIL."""
    if not isinstance(ledger, Ledger) or ledger._holds_column("encounters", "encounter_id"):
        return _Held(ledger.column("encounters", "encounter_id"))
    return Background(ledger.column, "encounters", "encounter_id")


class _Held:
    def __init__(self, value):
        self._value = value

    def result(self):
        return self._value


def _from_buffers(arrow_type, n: int, validity, data) -> pa.Array:
    """An Arrow array over numpy memory (shared, not copied); ``validity`` a bitmap or None."""
    buffers = [None if validity is None else pa.py_buffer(validity), pa.py_buffer(data)]
    return pa.Array.from_buffers(arrow_type, n, buffers)


def _explanation(ledger: Ledger, n_enc, line, group, carc, amount, payer, bits) -> dict:
    # PAID and AWAITING have no explanation: null there (the kernel's bitmaps).
    explained = bits[K.BIT_EXPLAINED]
    _, g_values, _, c_values = ledger.reason_codes()
    out = {"explain_line": _from_buffers(pa.int32(), n_enc, explained, line)}
    for name, codes, values, row in (
        ("group", group, g_values, K.BIT_GROUP),
        ("carc", carc, c_values, K.BIT_CARC),
    ):
        out[f"explain_{name}"] = _taken_strings(values, codes, bits[row])
    out["explain_amount"] = _from_buffers(pa.int64(), n_enc, explained, amount)
    # Which payer denied: under Settled question 1 it may be an earlier payer
    # than the last adjudicating one.
    out["explain_payer_seq"] = _from_buffers(pa.int8(), n_enc, explained, payer)
    return out


def _taken_strings(values, codes: np.ndarray, validity) -> pa.Array:
    """``values[codes[r]]`` per row as Arrow strings, null where ``validity`` says so
    (code -1): the buffers written by a kernel, a few times quicker than Arrow's take
    from the few distinct values."""
    dictionary = arrow_strings(values)
    _, value_offsets, value_data = dictionary.buffers()
    value_offsets = np.frombuffer(value_offsets, np.int32)[: len(dictionary) + 1]
    value_data = np.frombuffer(value_data, np.uint8) if value_data is not None else _NO_BYTES
    lengths = np.diff(value_offsets)
    longest = int(lengths.max(initial=0))
    offsets = np.empty(len(codes) + 1, np.int32)
    data = np.empty(len(codes) * longest + S.SHORT, np.uint8)
    if longest <= S.SHORT:  # reason codes: 1-3 bytes
        slots = np.zeros((len(dictionary) + 1, S.SHORT), np.uint8)  # last: code -1's
        for v in range(len(dictionary)):
            slots[v, : lengths[v]] = value_data[value_offsets[v] : value_offsets[v + 1]]
        lengths = np.append(lengths, 0).astype(np.int64)
        args = (slots.reshape(-1), lengths, codes, offsets, data)
        kernel = S.take_short_strings_nb
    else:
        args = (value_offsets, value_data, codes, offsets, data)
        kernel = S.take_strings_nb
    load_first(kernel, *args)
    n_bytes = kernel(*args)
    buffers = [pa.py_buffer(validity), pa.py_buffer(offsets), pa.py_buffer(data[:n_bytes])]
    return pa.Array.from_buffers(pa.string(), len(codes), buffers)


_NO_BYTES = np.zeros(1, np.uint8)


def _pending_mask(ledger: Ledger, pending) -> np.ndarray:
    n_enc = ledger.keys.n_encounters
    if pending is None:
        return _NO_PENDING
    ids = pa.array(list(pending), pa.string())
    pos = codes_in(pa.chunked_array([ids]), ledger.encounters["encounter_id"].combine_chunks())
    mask = np.zeros(n_enc, np.bool_)
    mask[pos[pos >= 0]] = True
    return mask
