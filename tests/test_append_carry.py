"""What an append carries to the new ledger's keys instead of recomputing it: the packed
codes under the ledger's policy, the procedures' encounters and the remit references."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

import ledgerkit as lk
from ledgerkit.core.keys import build_keys
from ledgerkit.posting.decide import _existing_refs
from ledgerkit.synth.remits import remittances_from_ledger


def _carry_base():
    full = lk.synth.generate(120, seed=11)
    no_remits = pc.not_equal(full.entries["source"].cast(pa.string()), "remit")
    base = lk.Ledger.from_arrow(full.encounters, full.procedures,
                                full.entries.filter(no_remits), full.payers)  # fmt: skip
    return base, remittances_from_ledger(full)


def _fresh_codes(ledger):
    keys = build_keys(ledger.encounters, ledger.procedures, ledger.entries)
    return keys.packed_codes(ledger.entries, ledger.policy)


def test_posted_ledger_carries_the_packed_codes_a_fresh_build_computes():
    base, remits = _carry_base()
    base.packed_codes()  # cached on the base's keys: the append carries them
    posted = lk.post(base, remits).ledger
    carried = posted.keys.cached_packed_codes(posted.policy)
    assert carried is not None
    assert np.array_equal(carried, _fresh_codes(posted))
    # reversals negate remit entries: the live bits of old rows change with the append
    last = posted.entries.slice(posted.entries.num_rows - 1)
    names = ["encounter_id", "line", "payer_seq", "payer_id", "kind", "group_code", "carc"]
    undo = {name: last[name] for name in names}
    undo |= {"amount_cents": pc.negate(last["amount_cents"]), "negates": last["entry_id"],
             "actor": ["ana"], "note": ["mistake"]}  # fmt: skip
    again = posted.append(undo)
    assert np.array_equal(again.keys.cached_packed_codes(again.policy), _fresh_codes(again))


def test_an_append_without_cached_codes_computes_none():
    base, remits = _carry_base()
    new_entries = lk.post(base, remits).entries.drop_columns(["entry_id", "posted_at"])
    untouched = lk.Ledger.from_arrow(base.encounters, base.procedures, base.entries, base.payers)
    posted = untouched.append(new_entries)
    assert posted.keys.cached_packed_codes(posted.policy) is None  # none were at hand
    assert np.array_equal(posted.packed_codes(), _fresh_codes(posted))


def test_procedure_encounters_and_remit_refs_follow_the_append():
    base, remits = _carry_base()
    refs_before = _existing_refs(base)
    assert len(refs_before) == 0 or pc.all(pc.is_valid(refs_before)).as_py()
    posted = lk.post(base, remits).ledger
    keys = posted.keys
    sizes = np.diff(keys.enc_proc_start)
    assert np.array_equal(keys.procedure_encounters(), np.repeat(np.arange(len(sizes)), sizes))
    carried = set(_existing_refs(posted).to_pylist())
    fresh = set(pc.unique(posted.entries["remit_ref"].cast(pa.string()).drop_null()).to_pylist())
    assert carried == fresh
    # posting the same remits again finds every one of them posted already
    assert lk.post(posted, remits).entries.num_rows == 0


def test_an_append_after_the_last_procedure_carries_the_codes_too():
    """A grouped ledger whose batch lands after its last procedure's entries stays grouped
    (no merge): the codes are joined, the negated row's live bit cleared."""
    ledger = lk.synth.generate(30, seed=3)
    assert ledger.keys.entry_order is None
    ledger.packed_codes()
    last = ledger.entries.slice(ledger.entries.num_rows - 1)
    names = ["encounter_id", "line", "payer_seq", "payer_id", "kind", "group_code", "carc"]
    undo = {name: last[name] for name in names}
    undo |= {"amount_cents": pc.negate(last["amount_cents"]), "negates": last["entry_id"],
             "actor": ["ana"], "note": ["mistake"]}  # fmt: skip
    again = ledger.append(undo, allow_credit=True)
    assert again.keys.entry_order is None
    carried = again.keys.cached_packed_codes(again.policy)
    assert np.array_equal(carried, _fresh_codes(again))
    assert not (carried[-2:] >> 6 & 1).any()  # the entry and its negation: neither live
