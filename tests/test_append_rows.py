"""``Ledger.append`` errors name the row of the batch the user passed (issue #18), and a
list of row dicts keeps every row's keys (not only the first row's)."""

from __future__ import annotations

import pyarrow.compute as pc
import pytest

import ledgerkit as lk


@pytest.fixture(scope="module")
def ledger():
    return lk.synth.load_sample()  # 219,751 entries: a concatenated row would be huge


@pytest.fixture(scope="module")
def open_line(ledger):
    lines = lk.balances(ledger, level="procedure")
    return lines.filter(pc.greater(lines["payer_balance"], 100)).to_pylist()[0]


def _row(at, **fields):
    row = {"encounter_id": at["encounter_id"], "line": at["line"], "payer_seq": 0,
           "kind": "patient_payment", "amount_cents": 1}  # fmt: skip
    return row | fields


BAD = {
    "unknown encounter": (dict(encounter_id="NO-SUCH-ENCOUNTER"), "'encounter_id': no such"),
    "unknown line": (dict(line=999), "'line': no such procedure line"),
    "not the encounter's payer": (
        dict(payer_seq=1, payer_id="NOPAYER", kind="payment"),
        "'payer_id': payer 'NOPAYER' is not its encounter's payer 1",
    ),
    "negates nothing": (dict(amount_cents=-1, negates=10**9), "'negates': entry 1000000000"),
    "transfer above the payer balance": (
        dict(payer_seq=1, kind="transfer_to_pr", amount_cents=10**7),
        "'amount_cents': a transfer_to_pr of $100,000.00 exceeds the payer balance",
    ),
    "adjustment without codes": (
        dict(payer_seq=1, kind="adjustment", amount_cents=1),
        "'group_code': an adjustment needs a group code and a CARC",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
@pytest.mark.parametrize("position", [0, 2])
def test_an_append_error_names_the_users_row(ledger, open_line, case, position):
    fields, words = BAD[case]
    batch = [_row(open_line), _row(open_line)]
    batch.insert(position, _row(open_line, **fields))
    with pytest.raises(lk.LedgerError) as info:
        ledger.append(batch)
    message = str(info.value)
    assert message.startswith(f"entries row {position}, column "), message
    assert words in message, message
    assert "NO-SUCH-ENCOUNTER" not in message  # ids the user typed are not echoed


def test_rows_with_different_keys_keep_every_key(ledger, open_line):
    # the second row alone names a payer and a CARC: they must not be dropped
    # (pa.Table.from_pylist keeps the first row's keys only)
    pay = _row(open_line, payer_seq=1, kind="payment", amount_cents=100)
    adj = _row(open_line, payer_seq=1, kind="adjustment", group_code="CO", carc="45",
               amount_cents=50)  # fmt: skip
    new = ledger.append([_row(open_line), pay, adj])
    rows = new.entries.slice(ledger.entries.num_rows).to_pylist()
    assert [r["amount_cents"] for r in rows] == [1, 100, 50]
    assert [(r["group_code"], r["carc"]) for r in rows] == [(None, None)] * 2 + [("CO", "45")]
    payer1 = ledger.encounters.filter(
        pc.equal(ledger.encounters["encounter_id"], open_line["encounter_id"])
    )["payer1_id"][0].as_py()
    assert [r["payer_id"] for r in rows] == [None, payer1, payer1]
