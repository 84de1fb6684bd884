"""Which remits of a batch cross a movement cap, decided remit by remit in posting order.

``Ledger.append`` checks a batch as a whole (DOMAIN.md, Settled question 3): it
refuses entries that leave open PR above a procedure's balance or take a balance
below 0, and names every procedure at fault. Posting must flag only the remit
that crosses the cap, seeing the remits before it: a primary's remit that is fine
on its own still posts when a secondary's remit later in the batch is the one
that leaves open PR above the balance.

Only the encounters at fault are replayed (a small ledger of their rows), so the
cost is in the size of the problem, not of the ledger.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit.core.ledger import Ledger
from ledgerkit.errors import LedgerError

__all__ = ["remits_over_caps"]


def remits_over_caps(ledger: Ledger, entries: pa.Table, rows: np.ndarray) -> pa.Array:
    """The ``remit_ref`` of each remit that crosses a cap when the batch posts in order.

    Parameters
    ----------
    ledger : Ledger
        The ledger the batch is posted to.
    entries : pyarrow.Table
        The batch's entries in posting order (every column, ``entry_id`` included),
        each with the ``remit_ref`` of the remit it comes from.
    rows : numpy.ndarray
        Rows of ``entries`` on the procedures at fault (``MovementError.rows``).

    Returns
    -------
    pyarrow.Array
        The remit references to flag, in posting order. Each remit is replayed on
        the encounters at fault after the ones before it that were kept; a remit
        the ledger refuses there is flagged and the next one sees the state
        without it.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> ledger = lk.synth.generate(10, seed=1)
    >>> empty = ledger.entries.slice(0, 0)
    >>> len(remits_over_caps(ledger, empty, np.empty(0, np.int64)))
    0
    """
    if not len(rows):
        return pa.array([], entries.schema.field("remit_ref").type)
    at_fault = pc.unique(entries["encounter_id"].take(pa.array(rows)))
    # A small ledger of the encounters at fault: the same rows, ids and policy.
    small = Ledger.from_arrow(
        ledger.encounters.filter(pc.is_in(ledger.encounters["encounter_id"], at_fault)),
        ledger.procedures.filter(pc.is_in(ledger.procedures["encounter_id"], at_fault)),
        ledger.entries.filter(pc.is_in(ledger.entries["encounter_id"], at_fault)),
        ledger.payers,
        policy=ledger.policy,
    )
    batch = entries.filter(pc.is_in(entries["encounter_id"], at_fault))
    refs = batch["remit_ref"].combine_chunks()
    if isinstance(refs, pa.DictionaryArray):
        refs = refs.dictionary_decode()
    flagged = []
    for ref in pc.unique(refs):  # in order of first appearance: posting order
        mine = batch.filter(pc.equal(refs, ref))
        try:
            small = small.append(mine)
        except LedgerError:
            # a cap crossed given the remits kept before it (or a reversal of one
            # flagged here, which cannot post either)
            flagged.append(ref.as_py())
    return pa.array(flagged, refs.type)
