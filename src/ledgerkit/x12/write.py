"""``write_835``: remittances back to X12 835 text that ``read_835`` reads identically.

Everything the reader keeps is written (and nothing else), so
``read_835(write_835(r))`` gives the same tables as ``r`` when ``r`` came from
``read_835`` or a builder (see ``tests/test_x12_roundtrip.py``). Identifiers
are written only when present: a claim with only a ``patient_key`` gets
``NM1*QC*1******MI*<key>``, which the reader keeps as the key.

What the reader does not keep is not invented: payer and payee addresses
(N3/N4), the bank details of ACH payments (BPR05-15) and contact segments are
left out, so the text is valid X12 and balances, but it is not a complete
implementation-guide 835 for a payment network.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit.x12.remittances import IDENTIFIER_COLUMNS, Remittances

__all__ = ["write_835", "format_835"]

EPOCH = dt.date(1970, 1, 1)


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
    ids = pc.fill_null(parent, -1).to_numpy() if len(parent) else np.empty(0, np.int64)
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


def format_835(
    r: Remittances,
    *,
    element_separator: str = "*",
    component_separator: str = ":",
    repetition_separator: str = "^",
    segment_terminator: str = "~",
    newline: bool = True,
) -> bytes:
    """The 835 text of ``r`` as bytes (see :func:`write_835`).

    Examples
    --------
    >>> from ledgerkit.x12 import read_835
    >>> r = read_835(b"ST*835*1~BPR*I*10*C*CHK************20250101~CLP*E1*1*10*10~SE*4*1~")
    >>> text = format_835(r, newline=False)
    >>> text[:3], text.count(b"~CLP*E1*1*10*10~")
    (b'ISA', 1)
    """
    E, C, T = element_separator, component_separator, segment_terminator
    seps = {E, C, T, repetition_separator}
    if len(seps) != 4 or any(len(s) != 1 or s.isalnum() for s in seps):
        raise ValueError("separators must be four different single non-alphanumeric characters")
    _check_text(r, "".join(sorted(seps)))
    end = T + ("\n" if newline and T != "\n" else "")

    tx = _cols(r.transactions)
    claims_t = _sorted(r.claims, ["transaction_id", "claim_id"])
    lines_t = _sorted(r.service_lines, ["claim_id", "line_id"])
    adj_t = r.adjustments
    ntx, ncl = r.transactions.num_rows, claims_t.num_rows
    # Claims are grouped by transaction; lines, adjustments, remarks by claim (stable).
    cl = _cols(claims_t)
    claim_pos = {cid: i for i, cid in enumerate(cl["claim_id"])}
    cl_start = _ranges(claims_t.column("transaction_id"), ntx)
    li = _cols(lines_t)
    line_pos = {lid: i for i, lid in enumerate(li["line_id"])}

    def by_parent(table, key, pos, n):
        """Row lists per parent position, keeping table order."""
        out = [[] for _ in range(n)]
        if table.num_rows:
            for i, p in enumerate(table.column(key).to_pylist()):
                if p is not None and p in pos:
                    out[pos[p]].append(i)
        return out

    ad = _cols(adj_t)
    claim_adj = [[] for _ in range(ncl)]
    line_adj = [[] for _ in range(lines_t.num_rows)]
    for i, (c, ln) in enumerate(zip(ad["claim_id"], ad["line_id"], strict=True)):
        if ln is None:
            claim_adj[claim_pos[c]].append(i)
        else:
            line_adj[line_pos[ln]].append(i)
    lines_of = by_parent(lines_t, "claim_id", claim_pos, ncl)
    rm = _cols(r.remarks)
    claim_rem = [[] for _ in range(ncl)]
    line_rem = [[] for _ in range(lines_t.num_rows)]
    for i, (c, ln) in enumerate(zip(rm["claim_id"], rm["line_id"], strict=True)):
        if ln is None:
            claim_rem[claim_pos[c]].append(i)
        else:
            line_rem[line_pos[ln]].append(i)
    pl = _cols(r.provider_adjustments)
    plb_of = [[] for _ in range(ntx)]
    for i, t in enumerate(pl["transaction_id"]):
        plb_of[t].append(i)
    ident = {c: cl.get(c, [None] * ncl) for c in IDENTIFIER_COLUMNS}

    out: list[str] = []

    def seg(*elements):
        els = list(elements)
        while len(els) > 1 and els[-1] == "":
            els.pop()
        out.append(E.join(els) + end)

    def cas(rows):
        i = 0
        while i < len(rows):
            g = ad["group_code"][rows[i]]
            els = ["CAS", g]
            j = i
            while j < len(rows) and j - i < 6 and ad["group_code"][rows[j]] == g:
                a = rows[j]
                els += [ad["carc"][a], _money(ad["amount_cents"][a]), _qty(ad["quantity"][a])]
                j += 1
            seg(*els)
            i = j

    def composite(qual, code, mods):
        parts = [qual or "", code or ""]
        if mods:
            parts += mods.split(":")
        while len(parts) > 1 and parts[-1] == "":
            parts.pop()
        return C.join(parts)

    def person(kind, prefix, key, c):
        names = [ident[f"{prefix}_{f}"][c] or "" for f in ("last_name", "first_name")]
        middle = ident[f"{prefix}_middle_name"][c] or ""
        qual = ident[f"{prefix}_id_qualifier"][c] or ""
        pid = ident[f"{prefix}_id"][c] or ""
        if not any(names + [middle, qual, pid]) and key:
            qual, pid = "MI", key
        if kind == "IL" and not any(names + [middle, qual, pid]):
            return
        seg("NM1", kind, "1", names[0], names[1], middle, "", "", qual, pid)

    now = dt.datetime.now()
    t = 0
    n_isa = 0
    while t < ntx:
        # One ISA/GS per run of transactions with the same interchange and group.
        isa_key = (tx["isa_control"][t], tx["isa_sender"][t], tx["isa_receiver"][t])
        t_end = t
        while (
            t_end < ntx
            and (
                tx["isa_control"][t_end],
                tx["isa_sender"][t_end],
                tx["isa_receiver"][t_end],
            )
            == isa_key
        ):
            t_end += 1
        n_isa += 1
        ctl = isa_key[0] or f"{n_isa:09d}"
        if not (len(ctl) == 9 and ctl.isdigit()):
            ctl = ctl.zfill(9) if ctl.isdigit() and len(ctl) < 9 else f"{n_isa:09d}"
        version = tx["version"][t] or "005010X221A1"
        is4010 = version.startswith("004010")
        gs_date = tx["gs_date"][t] or now.date()
        sender = (isa_key[1] or "LEDGERKIT")[:15]
        receiver = (isa_key[2] or "RECEIVER")[:15]
        seg(
            "ISA", "00", " " * 10, "00", " " * 10, "ZZ", f"{sender:<15}", "ZZ",
            f"{receiver:<15}", gs_date.strftime("%y%m%d"), "0000",
            "U" if is4010 else repetition_separator, "00401" if is4010 else "00501",
            ctl, "0", "P", C,
        )  # fmt: skip
        n_gs = 0
        g = t
        while g < t_end:
            gkey = (tx["gs_control"][g], tx["gs_sender"][g], tx["gs_receiver"][g])
            g_end = g
            while (
                g_end < t_end
                and (
                    tx["gs_control"][g_end],
                    tx["gs_sender"][g_end],
                    tx["gs_receiver"][g_end],
                )
                == gkey
            ):
                g_end += 1
            n_gs += 1
            gver = tx["version"][g] or "005010X221A1"
            gdate = tx["gs_date"][g] or now.date()
            gs_ctl = gkey[0] or str(n_gs)
            seg(
                "GS", "HP", gkey[1] or sender, gkey[2] or receiver, _date(gdate), "0000",
                gs_ctl, "X", gver,
            )  # fmt: skip
            for i in range(g, g_end):
                start = len(out)
                ver = tx["version"][i] or "005010X221A1"
                seg("ST", "835", tx["st_control"][i], "" if ver.startswith("004010") else ver)
                els = ["BPR", tx["handling_code"][i] or "", _opt_money(tx["payment_cents"][i])]
                els += [tx["credit_debit"][i] or "", tx["payment_method"][i] or ""]
                els += [""] * 11 + [_date(tx["payment_date"][i])]
                seg(*els)
                if tx["trace_number"][i] or tx["trace_originator"][i]:
                    seg("TRN", "1", tx["trace_number"][i] or "", tx["trace_originator"][i] or "")
                if tx["production_date"][i]:
                    seg("DTM", "405", _date(tx["production_date"][i]))
                pq, pid = tx["payer_id_qualifier"][i] or "", tx["payer_id"][i] or ""
                seg("N1", "PR", tx["payer_name"][i] or "", pq if pq else "", pid if pq else "")
                if pid and not pq:
                    seg("REF", "2U", pid)
                seg(
                    "N1", "PE", tx["payee_name"][i] or "", tx["payee_id_qualifier"][i] or "",
                    tx["payee_id"][i] or "",
                )  # fmt: skip
                if cl_start[i + 1] > cl_start[i]:
                    seg("LX", "1")
                for c in range(cl_start[i], cl_start[i + 1]):
                    seg(
                        "CLP", cl["encounter_id"][c], cl["status_code"][c],
                        _money(cl["charge_cents"][c]), _money(cl["paid_cents"][c]),
                        _opt_money(cl["reported_patient_responsibility_cents"][c]),
                        cl["claim_filing_indicator"][c] or "",
                        cl["payer_claim_control_number"][c] or "",
                        cl["facility_type"][c] or "", cl["frequency_code"][c] or "",
                    )  # fmt: skip
                    cas(claim_adj[c])
                    person("QC", "patient", cl["patient_key"][c], c)
                    person("IL", "subscriber", cl["subscriber_key"][c], c)
                    if cl["rendering_provider_id"][c]:
                        seg(
                            "NM1",
                            "82",
                            "1",
                            "",
                            "",
                            "",
                            "",
                            "",
                            "XX",
                            cl["rendering_provider_id"][c],
                        )
                    rems = claim_rem[c]
                    mia = [rm["code"][x] for x in rems if rm["source"][x] == "MIA"]
                    for k in range(0, len(mia), 5):
                        chunk = mia[k : k + 5] + [""] * (5 - len(mia[k : k + 5]))
                        seg("MIA", "0", "", "", "", chunk[0], *([""] * 14), *chunk[1:])
                    moa = [rm["code"][x] for x in rems if rm["source"][x] != "MIA"]
                    for k in range(0, len(moa), 5):
                        seg("MOA", "", "", *moa[k : k + 5])
                    for q, col in (("232", "statement_from"), ("233", "statement_to")):
                        if cl[col][c]:
                            seg("DTM", q, _date(cl[col][c]))
                    if cl["received_date"][c]:
                        seg("DTM", "050", _date(cl["received_date"][c]))
                    for ln in lines_of[c]:
                        seg(
                            "SVC",
                            composite(li["procedure_qualifier"][ln], li["procedure_code"][ln],
                                      li["modifiers"][ln]),
                            _opt_money(li["charge_cents"][ln]), _opt_money(li["paid_cents"][ln]),
                            li["revenue_code"][ln] or "", _qty(li["units"][ln]),
                            composite(li["original_procedure_qualifier"][ln],
                                      li["original_procedure_code"][ln],
                                      li["original_modifiers"][ln])
                            if li["original_procedure_qualifier"][ln]
                            or li["original_procedure_code"][ln] else "",
                            _qty(li["original_units"][ln]),
                        )  # fmt: skip
                        for q, col in (
                            ("472", "service_date"),
                            ("150", "service_start"),
                            ("151", "service_end"),
                        ):
                            if li[col][ln]:
                                seg("DTM", q, _date(li[col][ln]))
                        cas(line_adj[ln])
                        if li["line_control_number"][ln]:
                            seg("REF", "6R", li["line_control_number"][ln])
                        if li["reported_allowed_cents"][ln] is not None:
                            seg("AMT", "B6", _money(li["reported_allowed_cents"][ln]))
                        for x in line_rem[ln]:
                            seg("LQ", rm["qualifier"][x] or "HE", rm["code"][x])
                rows = plb_of[i]
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
                            reason += C + pl["reference"][b].replace(":", C)
                        els += [reason, _money(pl["amount_cents"][b])]
                        j += 1
                    seg(*els)
                    k = j
                seg("SE", str(len(out) - start + 1), tx["st_control"][i])
            seg("GE", str(g_end - g), gs_ctl)
            g = g_end
        seg("IEA", str(n_gs), ctl)
        t = t_end
    return "".join(out).encode("utf-8")


def write_835(remittances: Remittances, path, **options) -> Path:
    """Write remittances as one X12 835 file (one ISA/GS per interchange/group).

    Parameters
    ----------
    remittances : Remittances
    path : str or os.PathLike
        File to write (overwritten).
    **options
        ``element_separator`` ("*"), ``component_separator`` (":"),
        ``repetition_separator`` ("^"), ``segment_terminator`` ("~"),
        ``newline`` (True: a line break after each segment).

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    ValueError
        A text value contains one of the separators (choose others), or the
        separators are not four distinct non-alphanumeric characters.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from ledgerkit.x12 import read_835
    >>> raw = b"ST*835*1~BPR*I*10*C*CHK************20250101~CLP*E1*1*10*10~SE*4*1~"
    >>> r = read_835(raw)
    >>> path = write_835(r, pathlib.Path(tempfile.mkdtemp()) / "out.835")
    >>> read_835(path).claims.equals(r.claims)
    True
    """
    path = Path(os.fspath(path))
    data = format_835(remittances, **options)
    path.write_bytes(data)
    return path
