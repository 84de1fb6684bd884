"""The slow, obviously-correct 835 writer: ``format_835`` as it was before it was vectorised.

One Python step per segment, claim by claim. ``format_835_ref`` is the reference that
``ledgerkit.x12.write.format_835`` must match byte for byte (tests/test_x12_write_fast.py).
"""

from __future__ import annotations

import datetime as dt
import functools

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit.core.arrow import numpy_array
from ledgerkit.x12.remittances import IDENTIFIER_COLUMNS, Remittances

__all__ = ["format_835_ref"]


def _money(c: int) -> str:
    sign = "-" if c < 0 else ""
    c = -c if c < 0 else c
    whole, cents = divmod(c, 100)
    if cents == 0:
        return f"{sign}{whole}"
    if cents % 10 == 0:
        return f"{sign}{whole}.{cents // 10}"
    return f"{sign}{whole}.{cents:02d}"


def _opt_money(c) -> str:
    return "" if c is None else _money(c)


def _qty(x) -> str:
    if x is None:
        return ""
    return np.format_float_positional(x, trim="-")


@functools.lru_cache(maxsize=4096)
def _date(d) -> str:
    return "" if d is None else f"{d.year:04d}{d.month:02d}{d.day:02d}"


def _cols(table: pa.Table) -> dict:
    return {name: table.column(name).to_pylist() for name in table.column_names}


def _ranges(parent: pa.ChunkedArray, n_parents: int) -> np.ndarray:
    """Start offsets (n_parents + 1) of each parent's rows in a table sorted by parent."""
    ids = numpy_array(parent, fill=-1) if len(parent) else np.empty(0, np.int64)
    return np.searchsorted(ids, np.arange(n_parents + 1), side="left")


def _sorted(table: pa.Table, keys: list[str]) -> pa.Table:
    if table.num_rows == 0:
        return table
    idx = pc.sort_indices(table, sort_keys=[(k, "ascending") for k in keys])
    return table.take(idx)


_JOINED = ("modifiers", "original_modifiers", "reference")  # ':'-joined components


def _check_text(r: Remittances, forbidden: str) -> None:
    for name, table in r.tables.items():
        if name == "findings":
            continue
        for col in table.column_names:
            if col == "file" or not pa.types.is_string(table.schema.field(col).type):
                continue
            chars = forbidden.replace(":", "") if col in _JOINED else forbidden
            pattern = "[" + "".join("\\" + c for c in chars) + "]"
            hit = pc.match_substring_regex(table.column(col), pattern)
            if pc.any(hit).as_py():
                row = pc.index(hit, True).as_py()
                raise ValueError(
                    f"{name}.{col} row {row} contains a delimiter ({forbidden!r}); "
                    "write with other separators (element_separator=..., ...)"
                )


# Code columns an 835 cannot do without; read_835 leaves them null when the file held
# something that was not a code (an invalid_code finding).
_REQUIRED_CODES = {
    "claims": "status_code",
    "adjustments": ("group_code", "carc"),
    "remarks": "code",
    "provider_adjustments": "reason_code",
}


def _check_required_codes(r: Remittances) -> None:
    for name, cols in _REQUIRED_CODES.items():
        table = getattr(r, name)
        for col in (cols,) if isinstance(cols, str) else cols:
            if table.num_rows and table.column(col).null_count:
                row = pc.index(pc.is_null(table.column(col)), True).as_py()
                raise ValueError(
                    f"{name}.{col} row {row} is null (read_835 withholds a value that is not "
                    "a valid code: see its invalid_code findings); an 835 needs one"
                )


class _Text:
    """The segments written so far, with the delimiters."""

    def __init__(self, element: str, component: str, end: str):
        self.E, self.C, self.end = element, component, end
        self.out: list[str] = []

    def seg(self, *elements) -> None:
        """One segment; trailing empty elements are dropped."""
        els = list(elements)
        while len(els) > 1 and els[-1] == "":
            els.pop()
        self.out.append(self.E.join(els) + self.end)

    def composite(self, qual, code, mods) -> str:
        parts = [qual or "", code or ""]
        if mods:
            parts += mods.split(":")
        while len(parts) > 1 and parts[-1] == "":
            parts.pop()
        return self.C.join(parts)


class _Rows:
    """The tables as Python lists, and which rows belong to which parent.

    Claims are grouped by transaction; lines, adjustments and remarks by claim
    or line (keeping table order); provider adjustments by transaction.
    """

    def __init__(self, r: Remittances):
        self.tx = _cols(r.transactions)
        claims_t = _sorted(r.claims, ["transaction_id", "claim_id"])
        lines_t = _sorted(r.service_lines, ["claim_id", "line_id"])
        ntx, ncl, nli = r.transactions.num_rows, claims_t.num_rows, lines_t.num_rows
        self.ntx = ntx
        self.cl = _cols(claims_t)
        claim_pos = {cid: i for i, cid in enumerate(self.cl["claim_id"])}
        self.cl_start = _ranges(claims_t.column("transaction_id"), ntx)
        self.li = _cols(lines_t)
        line_pos = {lid: i for i, lid in enumerate(self.li["line_id"])}
        self.ad = _cols(r.adjustments)
        self.claim_adj, self.line_adj = _by_claim_or_line(self.ad, claim_pos, line_pos, ncl, nli)
        self.lines_of = _by_parent(lines_t, "claim_id", claim_pos, ncl)
        self.rm = _cols(r.remarks)
        self.claim_rem, self.line_rem = _by_claim_or_line(self.rm, claim_pos, line_pos, ncl, nli)
        self.pl = _cols(r.provider_adjustments)
        self.plb_of = [[] for _ in range(ntx)]
        for i, t in enumerate(self.pl["transaction_id"]):
            self.plb_of[t].append(i)
        self.ident = {c: self.cl.get(c, [None] * ncl) for c in IDENTIFIER_COLUMNS}


def _by_parent(table, key, pos, n):
    """Row lists per parent position, keeping table order."""
    out = [[] for _ in range(n)]
    if table.num_rows:
        for i, p in enumerate(table.column(key).to_pylist()):
            if p is not None and p in pos:
                out[pos[p]].append(i)
    return out


def _by_claim_or_line(cols, claim_pos, line_pos, ncl, nli):
    """Rows of a claim (``line_id`` null) and rows of a line, per position, in table order."""
    of_claim = [[] for _ in range(ncl)]
    of_line = [[] for _ in range(nli)]
    for i, (c, ln) in enumerate(zip(cols["claim_id"], cols["line_id"], strict=True)):
        if ln is None:
            of_claim[claim_pos[c]].append(i)
        else:
            of_line[line_pos[ln]].append(i)
    return of_claim, of_line


def format_835_ref(
    r: Remittances,
    *,
    element_separator: str = "*",
    component_separator: str = ":",
    repetition_separator: str = "^",
    segment_terminator: str = "~",
    newline: bool = True,
) -> bytes:
    """The 835 text of ``r`` as bytes, one Python step per segment."""
    E, C, T = element_separator, component_separator, segment_terminator
    seps = {E, C, T, repetition_separator}
    if len(seps) != 4 or any(len(s) != 1 or s.isalnum() for s in seps):
        raise ValueError("separators must be four different single non-alphanumeric characters")
    _check_text(r, "".join(sorted(seps)))
    _check_required_codes(r)
    w = _Text(E, C, T + ("\n" if newline and T != "\n" else ""))
    x = _Rows(r)
    today = dt.datetime.now().date()
    tx = x.tx
    t = 0
    n_isa = 0
    while t < x.ntx:
        # One ISA/GS per run of transactions with the same interchange and group.
        t_end = _run_end(tx, ("isa_control", "isa_sender", "isa_receiver"), t, x.ntx)
        n_isa += 1
        _interchange(w, x, t, t_end, n_isa, repetition_separator, today)
        t = t_end
    return "".join(w.out).encode("utf-8")


def _run_end(tx: dict, keys: tuple, start: int, stop: int) -> int:
    """End of the run of transactions from ``start`` with the same values of ``keys``."""
    key = tuple(tx[k][start] for k in keys)
    end = start
    while end < stop and tuple(tx[k][end] for k in keys) == key:
        end += 1
    return end


def _interchange(w: _Text, x: _Rows, t: int, t_end: int, n_isa: int, rep: str, today) -> None:
    """ISA .. IEA around transactions ``t:t_end``, one GS .. GE per run of the same group."""
    tx = x.tx
    ctl = tx["isa_control"][t] or f"{n_isa:09d}"
    if not (len(ctl) == 9 and ctl.isdigit()):
        ctl = ctl.zfill(9) if ctl.isdigit() and len(ctl) < 9 else f"{n_isa:09d}"
    version = tx["version"][t] or "005010X221A1"
    is4010 = version.startswith("004010")
    gs_date = tx["gs_date"][t] or today
    sender = (tx["isa_sender"][t] or "LEDGERKIT")[:15]
    receiver = (tx["isa_receiver"][t] or "RECEIVER")[:15]
    w.seg(
        "ISA", "00", " " * 10, "00", " " * 10, "ZZ", f"{sender:<15}", "ZZ",
        f"{receiver:<15}", gs_date.strftime("%y%m%d"), "0000",
        "U" if is4010 else rep, "00401" if is4010 else "00501",
        ctl, "0", "P", w.C,
    )  # fmt: skip
    n_gs = 0
    g = t
    while g < t_end:
        g_end = _run_end(tx, ("gs_control", "gs_sender", "gs_receiver"), g, t_end)
        n_gs += 1
        gver = tx["version"][g] or "005010X221A1"
        gdate = tx["gs_date"][g] or today
        gs_ctl = tx["gs_control"][g] or str(n_gs)
        w.seg(
            "GS", "HP", tx["gs_sender"][g] or sender, tx["gs_receiver"][g] or receiver,
            _date(gdate), "0000", gs_ctl, "X", gver,
        )  # fmt: skip
        for i in range(g, g_end):
            _transaction(w, x, i)
        w.seg("GE", str(g_end - g), gs_ctl)
        g = g_end
    w.seg("IEA", str(n_gs), ctl)


def _transaction(w: _Text, x: _Rows, i: int) -> None:
    """ST .. SE of transaction ``i``: payment, parties, claims, provider adjustments."""
    tx = x.tx
    start = len(w.out)
    ver = tx["version"][i] or "005010X221A1"
    w.seg("ST", "835", tx["st_control"][i], "" if ver.startswith("004010") else ver)
    els = ["BPR", tx["handling_code"][i] or "", _opt_money(tx["payment_cents"][i])]
    els += [tx["credit_debit"][i] or "", tx["payment_method"][i] or ""]
    els += [""] * 11 + [_date(tx["payment_date"][i])]
    w.seg(*els)
    if tx["trace_number"][i] or tx["trace_originator"][i]:
        w.seg("TRN", "1", tx["trace_number"][i] or "", tx["trace_originator"][i] or "")
    if tx["production_date"][i]:
        w.seg("DTM", "405", _date(tx["production_date"][i]))
    pq, pid = tx["payer_id_qualifier"][i] or "", tx["payer_id"][i] or ""
    w.seg("N1", "PR", tx["payer_name"][i] or "", pq if pq else "", pid if pq else "")
    if pid and not pq:
        w.seg("REF", "2U", pid)
    w.seg(
        "N1", "PE", tx["payee_name"][i] or "", tx["payee_id_qualifier"][i] or "",
        tx["payee_id"][i] or "",
    )  # fmt: skip
    if x.cl_start[i + 1] > x.cl_start[i]:
        w.seg("LX", "1")
    for c in range(x.cl_start[i], x.cl_start[i + 1]):
        _claim(w, x, c)
    _provider_adjustments(w, x, x.plb_of[i])
    w.seg("SE", str(len(w.out) - start + 1), tx["st_control"][i])


def _claim(w: _Text, x: _Rows, c: int) -> None:
    """CLP and its loop: adjustments, people, remarks, dates, then its service lines."""
    cl, rm = x.cl, x.rm
    w.seg(
        "CLP", cl["encounter_id"][c], cl["status_code"][c],
        _money(cl["charge_cents"][c]), _money(cl["paid_cents"][c]),
        _opt_money(cl["reported_patient_responsibility_cents"][c]),
        cl["claim_filing_indicator"][c] or "",
        cl["payer_claim_control_number"][c] or "",
        cl["facility_type"][c] or "", cl["frequency_code"][c] or "",
    )  # fmt: skip
    _adjustments(w, x, x.claim_adj[c])
    _person(w, x, "QC", "patient", cl["patient_key"][c], c)
    _person(w, x, "IL", "subscriber", cl["subscriber_key"][c], c)
    if cl["rendering_provider_id"][c]:
        w.seg("NM1", "82", "1", "", "", "", "", "", "XX", cl["rendering_provider_id"][c])
    rems = x.claim_rem[c]
    mia = [rm["code"][r] for r in rems if rm["source"][r] == "MIA"]
    for k in range(0, len(mia), 5):
        chunk = mia[k : k + 5] + [""] * (5 - len(mia[k : k + 5]))
        w.seg("MIA", "0", "", "", "", chunk[0], *([""] * 14), *chunk[1:])
    moa = [rm["code"][r] for r in rems if rm["source"][r] != "MIA"]
    for k in range(0, len(moa), 5):
        w.seg("MOA", "", "", *moa[k : k + 5])
    for q, col in (("232", "statement_from"), ("233", "statement_to")):
        if cl[col][c]:
            w.seg("DTM", q, _date(cl[col][c]))
    if cl["received_date"][c]:
        w.seg("DTM", "050", _date(cl["received_date"][c]))
    for ln in x.lines_of[c]:
        _service_line(w, x, ln)


def _service_line(w: _Text, x: _Rows, ln: int) -> None:
    """SVC and its loop: dates, adjustments, control number, allowed amount, remarks."""
    li, rm = x.li, x.rm
    w.seg(
        "SVC",
        w.composite(li["procedure_qualifier"][ln], li["procedure_code"][ln], li["modifiers"][ln]),
        _opt_money(li["charge_cents"][ln]), _opt_money(li["paid_cents"][ln]),
        li["revenue_code"][ln] or "", _qty(li["units"][ln]),
        w.composite(li["original_procedure_qualifier"][ln], li["original_procedure_code"][ln],
                    li["original_modifiers"][ln])
        if li["original_procedure_qualifier"][ln] or li["original_procedure_code"][ln] else "",
        _qty(li["original_units"][ln]),
    )  # fmt: skip
    for q, col in (("472", "service_date"), ("150", "service_start"), ("151", "service_end")):
        if li[col][ln]:
            w.seg("DTM", q, _date(li[col][ln]))
    _adjustments(w, x, x.line_adj[ln])
    if li["line_control_number"][ln]:
        w.seg("REF", "6R", li["line_control_number"][ln])
    if li["reported_allowed_cents"][ln] is not None:
        w.seg("AMT", "B6", _money(li["reported_allowed_cents"][ln]))
    for r in x.line_rem[ln]:
        w.seg("LQ", rm["qualifier"][r] or "HE", rm["code"][r])


def _adjustments(w: _Text, x: _Rows, rows: list) -> None:
    """CAS segments: up to 6 adjustments of the same group per segment."""
    ad = x.ad
    i = 0
    while i < len(rows):
        g = ad["group_code"][rows[i]]
        els = ["CAS", g]
        j = i
        while j < len(rows) and j - i < 6 and ad["group_code"][rows[j]] == g:
            a = rows[j]
            els += [ad["carc"][a], _money(ad["amount_cents"][a]), _qty(ad["quantity"][a])]
            j += 1
        w.seg(*els)
        i = j


def _person(w: _Text, x: _Rows, kind: str, prefix: str, key, c: int) -> None:
    """NM1 of the patient (QC) or subscriber (IL): names and id when kept, else the key."""
    ident = x.ident
    names = [ident[f"{prefix}_{f}"][c] or "" for f in ("last_name", "first_name")]
    middle = ident[f"{prefix}_middle_name"][c] or ""
    qual = ident[f"{prefix}_id_qualifier"][c] or ""
    pid = ident[f"{prefix}_id"][c] or ""
    if not any(names + [middle, qual, pid]) and key:
        qual, pid = "MI", key
    if kind == "IL" and not any(names + [middle, qual, pid]):
        return
    w.seg("NM1", kind, "1", names[0], names[1], middle, "", "", qual, pid)


def _provider_adjustments(w: _Text, x: _Rows, rows: list) -> None:
    """PLB segments: up to 6 adjustments of the same provider and period per segment."""
    pl = x.pl
    k = 0
    while k < len(rows):
        a = rows[k]
        key = (pl["provider_id"][a], pl["fiscal_period_date"][a])
        els = ["PLB", key[0], _date(key[1])]
        j = k
        while (
            j < len(rows)
            and j - k < 6
            and (pl["provider_id"][rows[j]], pl["fiscal_period_date"][rows[j]]) == key
        ):
            b = rows[j]
            reason = pl["reason_code"][b]
            if pl["reference"][b]:
                reason += w.C + pl["reference"][b].replace(":", w.C)
            els += [reason, _money(pl["amount_cents"][b])]
            j += 1
        w.seg(*els)
        k = j
