"""PHI canary fuzz (issue #14): no patient identifier in any message, finding or column.

Every element of the NM1, N3, N4, REF, DMG and PER segments of the shared
public 835 samples is replaced by a unique canary: short alphanumerics that
could pass for a code (``ZQ9``, ``QXK4``) and longer ones. The files are then
damaged at least 2,000 times with a fixed seed: bytes flipped near a canary,
delimiters swapped, files truncated, segments moved and duplicated, and a
segment's terminator and first elements lost so that its canaries shift into
the segment before (a CLP, a CAS, an SVC). No canary may appear in an
exception message, a warning, a log record, a finding or any string cell of
the default output; nor in the tables a ``LedgerStore`` keeps after posting.

Three elements are by design copied to an output column and identify no
patient: the rendering provider's id (``NM1*82`` NM109 ->
``rendering_provider_id``), the line item control number (``REF*6R`` ->
``line_control_number``) and the payer id (``REF*2U`` -> ``payer_id``). Their
canaries may appear in that column and nowhere else.
"""

from __future__ import annotations

import collections
import logging
import random
import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)
import pytest

import ledgerkit as lk
from ledgerkit.x12 import Remittances, X12Error, read_835
from ledgerkit.x12.tokenize import sniff_delimiters

PUBLIC = Path(__file__).parents[2] / "shared" / "data" / "x12-public"
SAMPLES = sorted(p for p in PUBLIC.glob("*") if p.is_file() and p.suffix != ".md")
needs_public = pytest.mark.skipif(not SAMPLES, reason=f"{PUBLIC} not present")

PHI_SEGMENTS = {b"NM1", b"N3", b"N4", b"REF", b"DMG", b"PER"}
# Elements kept in the "values" variant so the segment is still read for what it is.
QUALIFIERS = {b"NM1": {1, 2, 8}, b"REF": {1}, b"PER": {1, 3, 5, 7}, b"DMG": {1}}
# (segment, qualifier, element) -> the one column its canary may appear in.
PASS_THROUGH = {
    (b"NM1", b"82", 9): "rendering_provider_id",
    (b"REF", b"6R", 2): "line_control_number",
    (b"REF", b"2U", 2): "payer_id",
}
MUTATIONS = 2000
SEED = 20261201


# ----------------------------------------------------------------------------- canaries
def canaries(rng: random.Random):
    """Unique canaries, none a valid code of any code field (checked in the test).

    Shapes cycle: 3 characters (``ZQ9``: a letter pair and a digit, like a
    code), 4 characters, 6 characters, 10 characters.
    """
    letters = "QXZJKVW"
    seen = set()
    shapes = ("LLD", "LLLD", "LLDLLD", "LLLLDLLLLD")
    i = 0
    while True:
        shape = shapes[i % len(shapes)]
        i += 1
        c = "".join(rng.choice(letters) if s == "L" else rng.choice("3456789") for s in shape)
        # no canary inside another, so a hit names exactly one canary
        if c in seen or any(c in o or o in c for o in seen):
            continue
        seen.add(c)
        yield c


def delimiters(data: bytes) -> tuple[int, int, int]:
    """Element separator, component separator, segment terminator of a file."""
    if data.startswith(b"ISA"):
        return data[3], data[104], data[105]
    return sniff_delimiters(np.frombuffer(data, np.uint8))


def with_canaries(data: bytes, rng, gen, keep_qualifiers: bool):
    """``data`` with canaries in the PHI segments: (bytes, {canary: allowed column or None})."""
    esep, _, term = delimiters(data)
    start = 106 if data.startswith(b"ISA") else 0
    head, body = data[:start], data[start:]
    out, placed = [], {}
    for raw in body.split(bytes([term])):
        lead = raw[: len(raw) - len(raw.lstrip())]
        seg = raw[len(lead) :]
        elements = seg.split(bytes([esep]))
        sid = elements[0]
        if sid in PHI_SEGMENTS and len(elements) > 1:
            keep = QUALIFIERS.get(sid, set()) if keep_qualifiers else set()
            for k in range(1, len(elements)):
                if k in keep:
                    continue
                c = next(gen)
                elements[k] = c.encode()
                placed[c] = PASS_THROUGH.get((sid, elements[1], k)) if k in (2, 9) else None
            seg = bytes([esep]).join(elements)
        out.append(lead + seg)
    return head + bytes([term]).join(out), placed


# ----------------------------------------------------------------------------- damage
def segment_spans(data: bytes, term: int):
    """(start, end) of each segment (end just past its terminator), after the ISA."""
    spans, p = [], 106 if data.startswith(b"ISA") else 0
    while p < len(data):
        e = data.find(bytes([term]), p)
        e = len(data) if e < 0 else e + 1
        spans.append((p, e))
        p = e
    return spans


def mutate(data: bytes, placed: dict, rng: random.Random) -> bytes:
    """One to three kinds of damage, mostly near a canary."""
    esep, comp, term = delimiters(data)
    b = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        if not b:
            break
        names = [c for c in placed if c.encode() in b]
        at = b.find(rng.choice(names).encode()) if names else rng.randrange(len(b))
        kind = rng.choice(("flip", "flip", "delimiter", "truncate", "move", "duplicate", "merge"))
        if kind == "flip":
            i = min(max(at + rng.randint(-12, 12), 0), len(b) - 1)
            b[i] = rng.choice(
                [esep, comp, term, 10, 32, 48, 57, 46, 45, 65, 0xE9, rng.randrange(256)]
            )
        elif kind == "delimiter":
            window = range(max(at - 16, 0), min(at + 16, len(b)))
            hits = [i for i in window if b[i] in (esep, comp, term)]
            if hits:
                i = rng.choice(hits)
                b[i] = rng.choice([d for d in (esep, comp, term) if d != b[i]])
            else:  # swap two delimiters throughout the body
                x, y = rng.sample([esep, comp, term], 2)
                body = bytes(b[106:]).replace(bytes([x]), b"\0").replace(bytes([y]), bytes([x]))
                b[106:] = body.replace(b"\0", bytes([y]))
        elif kind == "truncate":
            del b[min(max(at + rng.randint(-20, 20), 1), len(b)) :]
        else:
            spans = segment_spans(bytes(b), term)
            if len(spans) < 3:
                continue
            j = next(
                (n for n, (s, e) in enumerate(spans) if s <= at < e), rng.randrange(len(spans))
            )
            s, e = spans[j]
            seg = bytes(b[s:e])
            if kind == "merge" and j > 0:
                # the terminator before it and its first elements are lost: its later
                # elements become elements of the segment before
                cut = s + max(seg.find(bytes([esep])), 0)
                for _ in range(rng.randint(0, 3)):
                    nxt = bytes(b).find(bytes([esep]), cut + 1, e)
                    cut = nxt if nxt > 0 else cut
                del b[s - 1 : cut]
                continue
            ts, _ = rng.choice(spans)
            if kind == "move":
                del b[s:e]
                ts = ts if ts < s else max(ts - len(seg), 0)
            b[ts:ts] = seg
    return bytes(b)


# ----------------------------------------------------------------------------- checks
def leaks(text: str, placed: dict, column: str | None = None) -> list:
    """Canaries in ``text`` that may not be there (``column``: where the text is)."""
    return [
        c for c, allowed in placed.items() if c in text and (column is None or allowed != column)
    ]


def table_leaks(name: str, table: pa.Table, placed: dict) -> list:
    out = []
    for col in table.column_names:
        typ = table.schema.field(col).type
        if not (pa.types.is_string(typ) or pa.types.is_large_string(typ)
                or pa.types.is_dictionary(typ)):  # fmt: skip
            continue
        values = table.column(col).cast(pa.string()) if pa.types.is_dictionary(typ) else table[col]
        text = "\x1f".join(v for v in values.to_pylist() if v is not None)
        out += [(name, col, c) for c in leaks(text, placed, col)]
    return out


def read_and_check(data: bytes, placed: dict, caplog, strict=False):
    """Read the damaged bytes; return (Remittances or None, [leaks])."""
    found = []
    caplog.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            r = read_835(data, strict=strict)
        except X12Error as e:
            r = None
            text = "\x1f".join([str(e), repr(e), str(e.segment_id), e.reason, e.file])
            found += [("X12Error", c) for c in leaks(text, placed)]
    for w in caught:
        found += [("warning", c) for c in leaks(str(w.message), placed)]
    for rec in caplog.records:
        found += [("log", c) for c in leaks(rec.getMessage(), placed)]
    if r is not None:
        for name, table in r.tables.items():
            found += table_leaks(name, table, placed)
        found += [("repr", c) for c in leaks(repr(r), placed)]
    return r, found


def bases(rng):
    gen = canaries(rng)
    out = []
    for path in SAMPLES:
        data = path.read_bytes()
        for keep in (False, True):
            marked, placed = with_canaries(data, rng, gen, keep)
            out.append((path.name, keep, marked, placed, data))
    return out


# ----------------------------------------------------------------------------- tests
@needs_public
def test_canaries_are_not_codes_and_reach_the_files(caplog):
    """The test is meaningful: canaries look like codes but are none, and each base
    file (with qualifiers kept) reads and holds its canaries."""
    from ledgerkit.x12.codes import CODE_RULES, invalid_codes

    rng = random.Random(SEED)
    shapes = set()
    for name, keep, marked, placed, original in bases(rng):
        assert not [c for c in placed if c.encode() in original]
        assert sum(1 for c in placed if c.encode() in marked) == len(placed) > 0, name
        shapes.update(len(c) for c in placed)
        for rules in CODE_RULES.values():
            for rule in rules:
                values = pa.array(list(placed))
                quals = None
                if rule.with_column:  # a remark as a RARC, a procedure code as a CPT/HCPCS
                    quals = pa.array(["HE" if rule.column == "code" else "HC"] * len(placed))
                assert invalid_codes(values, rule, quals).all(), rule.column
        if keep:
            r, found = read_and_check(marked, placed, caplog)
            assert r is not None and found == [], (name, found)
    assert shapes == {3, 4, 6, 10}


@needs_public
def test_phi_canary_fuzz(caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    rng = random.Random(SEED)
    todo = bases(rng)
    results, found, n_errors, n_read = [], [], 0, 0
    withheld = collections.Counter()  # invalid_code findings by element
    for i in range(MUTATIONS):
        name, keep, marked, placed, _ = todo[i % len(todo)]
        damaged = mutate(marked, placed, rng)
        r, hits = read_and_check(damaged, placed, caplog, strict=(i % 5 == 4))
        found += [(name, i, *h) for h in hits]
        if r is None:
            n_errors += 1
        else:
            n_read += 1
            f = r.findings.filter(pa.compute.equal(r.findings["code"], "invalid_code"))
            withheld.update(f"{s}{e:02d}" for s, e in zip(f["segment_id"].to_pylist(),
                            f["element"].fill_null(0).to_pylist(), strict=True))  # fmt: skip
            if r.claims.num_rows:
                results.append((f.num_rows == 0, i, r, placed))
    assert found == [], found[:20]
    # the damage was real: many files still read, many did not ...
    assert n_read > 300 and n_errors > 300, (n_read, n_errors)
    # ... and canaries did land in code fields, where the reader withheld them
    assert {"CLP08", "CLP09"} <= set(withheld), withheld

    # ... and through the store: every stored table, every string cell. Remits are
    # stored once per content fingerprint: post those with withheld codes first.
    results = [(r, placed) for _, _, r, placed in sorted(results, key=lambda x: x[:2])[:400]]
    ledger = lk.synth.generate(30, seed=5)
    store = lk.LedgerStore.create(tmp_path / "store", ledger, actor="setup", note="phi fuzz")
    all_placed = {}
    for _, placed in results:
        all_placed.update(placed)
    for k in range(0, len(results), 100):
        batch = Remittances.concat([r for r, _ in results[k : k + 100]])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            store.post(batch, actor="phi fuzz", note=f"batch {k}")
        for w in caught:
            found += [("store warning", c) for c in leaks(str(w.message), all_placed)]
    for rec in caplog.records:
        found += [("store log", c) for c in leaks(rec.getMessage(), all_placed)]
    from deltalake import DeltaTable

    tables = sorted(p.name for p in (tmp_path / "store").iterdir() if p.is_dir())
    assert "remit_claims" in tables and "decisions" in tables
    for t in tables:
        found += table_leaks(t, DeltaTable(tmp_path / "store" / t).to_pyarrow_table(), all_placed)
    assert found == [], found[:20]
    stored = DeltaTable(tmp_path / "store" / "remit_claims").to_pyarrow_table()
    assert stored.num_rows >= 20
