"""``read_835``: X12 835 remittance files straight into Arrow tables.

The bytes are scanned by a compiled kernel (``ledgerkit._kernels.x12``); this
module only turns its offset and value arrays into Arrow arrays, computes the
derived columns and the balancing checks with vectorised operations, and
deals with paths, folders and errors.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit._kernels import x12 as k
from ledgerkit.x12.errors import X12Error
from ledgerkit.x12.remittances import (
    IDENTIFIER_COLUMNS,
    TABLE_NAMES,
    Remittances,
    derived_columns,
    schema,
)
from ledgerkit.x12.tokenize import FINDING_CODES, Parsed, segment_id_at, tokenize

__all__ = ["read_835", "person_keys"]

NULL = k.NULL
FILE_SUFFIXES = (".835", ".edi", ".x12", ".txt", ".era", ".dat")


# ----------------------------------------------------------------------------- arrow
def _bitmap(valid: np.ndarray):
    n_null = int(len(valid) - np.count_nonzero(valid))
    if n_null == 0:
        return None, 0
    return pa.py_buffer(np.packbits(valid, bitorder="little")), n_null


_NO_SEPS = np.empty(0, np.int64)


def _strings(buf, s, e, seps=None) -> pa.Array:
    """Spans (rows of a kernel span array) as an Arrow string array.

    ``seps`` (optional) holds per-row bytes to write as ':'. A column with no
    value at all is returned as nulls without building any buffer.
    """
    n = len(s)
    offsets = np.empty(n + 1, np.int32)
    valid = np.empty(n, np.bool_)
    total = k.span_offsets_nb(s, e, offsets, valid)
    if total >= 2**31 - 1:  # pragma: no cover - a >2 GB column of one file
        offsets = np.empty(n + 1, np.int64)
        k.span_offsets_nb(s, e, offsets, valid)
    bitmap, n_null = _bitmap(valid)
    del valid
    if n_null == n and n:
        return pa.nulls(n, pa.string())
    # 8 spare bytes: the kernel copies short strings 8 bytes at a time
    data = np.empty(total + 8, np.uint8)
    k.gather_strings_nb(buf, s, e, _NO_SEPS if seps is None else seps, offsets, data)
    data = data[: max(total, 1)]
    typ = pa.string() if offsets.dtype == np.int32 else pa.large_string()
    arr = pa.Array.from_buffers(
        typ, n, [bitmap, pa.py_buffer(offsets), pa.py_buffer(data)], null_count=n_null
    )
    return arr if typ == pa.string() else arr.cast(pa.string())


def _whole(a: np.ndarray) -> np.ndarray:
    """The C-contiguous block a row-sliced kernel array (``arr[:, :n]``) views, else a copy.

    Kernels get the whole block and ``n``: slices of different lengths would
    each need their own compiled variant (contiguous or not).
    """
    b = a.base
    if (
        isinstance(b, np.ndarray)
        and b.ndim == 2
        and b.flags.c_contiguous
        and b.shape[0] == a.shape[0]
        and b.dtype == a.dtype
        and a.ctypes.data == b.ctypes.data
    ):
        return b
    return np.ascontiguousarray(a)


def _string_columns(buf, spans, fields, seps=None, sep_rows=None) -> dict:
    """Several string fields of one kernel span array as Arrow arrays, by field.

    One pass over the file per table (see ``gather_table_nb``); the columns'
    bytes share one buffer. ``seps`` (rows of per-row bytes to write as ':')
    is used for the fields whose ``sep_rows`` entry is >= 0. All-null columns
    are returned as nulls.
    """
    n = spans.shape[1]
    fields = np.asarray(fields, np.int64)
    nf = len(fields)
    whole = _whole(spans)
    offsets = np.empty((nf, n + 1), np.int32)
    valid = np.empty((nf, n), np.bool_)
    totals = np.empty(nf, np.int64)
    k.table_offsets_nb(whole, n, fields, offsets, valid, totals)
    if totals.max(initial=0) >= 2**31 - 1:  # pragma: no cover - a >2 GB column of one file
        return {int(f): _strings(buf, spans[2 * f], spans[2 * f + 1]) for f in fields}
    bases = np.zeros(nf, np.int64)
    np.cumsum(totals[:-1], out=bases[1:])
    data = np.empty(int(totals.sum()) + 1, np.uint8)
    if seps is None:
        seps, sep_rows = np.zeros((1, 1), np.int64), np.full(nf, -1, np.int64)
    k.gather_table_nb(
        buf, whole, n, fields, bases, np.ascontiguousarray(seps, np.int64),
        np.asarray(sep_rows, np.int64), offsets, data,
    )  # fmt: skip
    out = {}
    for j in range(nf):
        bitmap, n_null = _bitmap(valid[j])
        if n_null == n and n:
            out[int(fields[j])] = pa.nulls(n, pa.string())
            continue
        b0 = int(bases[j])
        part = data[b0 : b0 + max(int(totals[j]), 1)]
        out[int(fields[j])] = pa.Array.from_buffers(
            pa.string(), n, [bitmap, pa.py_buffer(offsets[j]), pa.py_buffer(part)],
            null_count=n_null,
        )  # fmt: skip
    return out


def _ints(values: np.ndarray, typ=pa.int64()) -> pa.Array:
    """A kernel row (int64, NULL = absent) as an Arrow array of ``typ``.

    The data is always a new array: a zero-copy view would keep the kernel's
    whole (fields x rows) block alive as long as the table.
    """
    bitmap, n_null = _bitmap(values != NULL)
    if n_null == len(values) and n_null:
        return pa.nulls(n_null, typ)
    np_type = {pa.int64(): np.int64, pa.int32(): np.int32, pa.date32(): np.int32}[typ]
    data = (
        values.astype(np_type)
        if n_null == 0
        else np.where(values == NULL, 0, values).astype(np_type, copy=False)
    )
    return pa.Array.from_buffers(typ, len(values), [bitmap, pa.py_buffer(data)], null_count=n_null)


def _floats(values: np.ndarray) -> pa.Array:
    """A kernel row of floats (NaN = absent) as a new Arrow float64 array."""
    bitmap, n_null = _bitmap(~np.isnan(values))
    if n_null == len(values) and n_null:
        return pa.nulls(n_null, pa.float64())
    data = np.where(np.isnan(values), 0.0, values) if n_null else values.copy()
    return pa.Array.from_buffers(
        pa.float64(), len(values), [bitmap, pa.py_buffer(data)], null_count=n_null
    )


def _ids(n: int) -> pa.Array:
    return pa.array(np.arange(n, dtype=np.int32))


def _table(name: str, cols: dict) -> pa.Table:
    sch = schema(name)
    n = len(next(iter(cols.values()))) if cols else 0
    arrays = []
    for f in sch:
        a = cols.get(f.name)
        if a is None:
            a = pa.nulls(n, f.type)
        arrays.append(a)
    return pa.Table.from_arrays(arrays, schema=sch)


# ----------------------------------------------------------------------------- keys
def _salt_keys(salt) -> np.ndarray:
    if isinstance(salt, str):
        salt = salt.encode()
    digest = hashlib.blake2b(bytes(salt), digest_size=32, person=b"ledgerkit-x12").digest()
    return np.frombuffer(digest, dtype="<u8").copy()


def person_keys(buf: np.ndarray, spans: np.ndarray, salt) -> pa.Array:
    """Pseudonyms ("LK" + 24 hex digits) of the people in ``spans`` (see the kernel).

    ``salt=None`` gives null keys, except for ids that are already keys.
    """
    n = spans.shape[1]
    out = np.zeros((n, 26), np.uint8)
    valid = np.zeros(n, np.bool_)
    keys = _salt_keys(salt) if salt is not None else np.zeros(4, np.uint64)
    k.person_keys_nb(buf, np.ascontiguousarray(spans), 4, keys, salt is not None, out, valid)
    bitmap, n_null = _bitmap(valid)
    offsets = np.arange(0, 26 * (n + 1), 26, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.string(),
        n,
        [bitmap, pa.py_buffer(offsets), pa.py_buffer(out.reshape(-1))],
        null_count=n_null,
    )


def _has_high_bytes(buf: np.ndarray) -> bool:
    m = len(buf) // 8 * 8
    if m and np.bitwise_or.reduce(buf[:m].view(np.uint64)) & np.uint64(0x8080808080808080):
        return True
    return bool(len(buf) > m and (buf[m:] >= 128).any())


def _as_utf8(buf: np.ndarray) -> np.ndarray:
    """The bytes as UTF-8: ASCII and UTF-8 unchanged, anything else read as Latin-1."""
    if not _has_high_bytes(buf):
        return buf
    raw = buf.tobytes()
    try:
        raw.decode("utf-8")
        return buf
    except UnicodeDecodeError:
        return np.frombuffer(raw.decode("latin-1").encode("utf-8"), np.uint8)


# ----------------------------------------------------------------------------- one file
def _build(p: Parsed, file: str, salt, keep_identifiers: bool) -> Remittances:
    """Arrow tables from the kernel's arrays.

    Each table's arrays are released as soon as the table is built (the rows the
    findings need are kept as small copies), so the peak holds the bytes, the
    tables built so far and the arrays not yet converted: the largest (adjustments,
    lines) go first.
    """
    b = p.buf

    def st(arr, f, seps=None):
        return _strings(b, arr[2 * f], arr[2 * f + 1], seps)

    ad_s, ad_n = p.ad_s, p.ad_n
    sc = _string_columns(b, ad_s, [k.A_GROUP, k.A_CARC])
    a_line = ad_n[k.AN_LINE]
    adjustments = _table(
        "adjustments",
        {
            "claim_id": _ints(ad_n[k.AN_CLAIM], pa.int32()),
            "line_id": _ints(np.where(a_line < 0, NULL, a_line), pa.int32()),
            "group_code": sc[k.A_GROUP],
            "carc": sc[k.A_CARC],
            "amount_cents": _ints(ad_n[k.AN_AMOUNT]),
            "quantity": _floats(p.ad_f[k.AF_QTY]),
        },
    )
    del ad_s, ad_n, a_line, sc
    p.ad_s = p.ad_n = p.ad_f = None
    keep = {
        "line_seg": p.li_n[k.LN_SEG].copy(),
        "line_claim": p.li_n[k.LN_CLAIM].copy(),
    }
    li_s, li_n, li_f = p.li_s, p.li_n, p.li_f
    nli = li_s.shape[1]
    sc = _string_columns(
        b, li_s, range(k.N_LS), li_n[[k.LN_MODSEP, k.LN_OMODSEP]],
        [1 if f == k.L_OMODS else 0 if f == k.L_MODS else -1 for f in range(k.N_LS)],
    )  # fmt: skip
    line_cols = {
        "line_id": _ids(nli),
        "claim_id": _ints(li_n[k.LN_CLAIM], pa.int32()),
        "line_number": _ints(li_n[k.LN_NUMBER], pa.int32()),
        "procedure_qualifier": sc[k.L_QUAL],
        "procedure_code": sc[k.L_CODE],
        "modifiers": sc[k.L_MODS],
        "charge_cents": _ints(li_n[k.LN_CHARGE]),
        "paid_cents": _ints(li_n[k.LN_PAID]),
        "revenue_code": sc[k.L_REVENUE],
        "units": _floats(li_f[k.LF_UNITS]),
        "original_procedure_qualifier": sc[k.L_OQUAL],
        "original_procedure_code": sc[k.L_OCODE],
        "original_modifiers": sc[k.L_OMODS],
        "original_units": _floats(li_f[k.LF_OUNITS]),
        "service_date": _ints(li_n[k.LN_DATE], pa.date32()),
        "service_start": _ints(li_n[k.LN_START], pa.date32()),
        "service_end": _ints(li_n[k.LN_END], pa.date32()),
        "line_control_number": sc[k.L_CONTROL],
        "reported_allowed_cents": _ints(li_n[k.LN_ALLOWED]),
    }
    del li_s, li_n, li_f, sc
    p.li_s = p.li_n = p.li_f = None
    keep["claim_seg"] = p.cl_n[k.CN_SEG].copy()
    keep["claim_tx"] = p.cl_n[k.CN_TX].copy()
    cl_s, cl_n = p.cl_s, p.cl_n
    ncl = cl_s.shape[1]
    c_fields = [k.C_ENCOUNTER, k.C_STATUS, k.C_FILING, k.C_PAYER_CLAIM, k.C_FACILITY]
    c_fields += [k.C_FREQUENCY, k.C_RENDERING]
    if keep_identifiers:
        c_fields += [k.C_PAT_LAST + i for i in range(len(IDENTIFIER_COLUMNS))]
    sc = _string_columns(b, cl_s, c_fields)
    pat = cl_s[2 * k.C_PAT_LAST : 2 * k.C_PAT_ID + 2]
    sub = cl_s[2 * k.C_SUB_LAST : 2 * k.C_SUB_ID + 2]
    claim_cols = {
        "claim_id": _ids(ncl),
        "transaction_id": _ints(cl_n[k.CN_TX], pa.int32()),
        "encounter_id": sc[k.C_ENCOUNTER],
        "status_code": sc[k.C_STATUS],
        "charge_cents": _ints(cl_n[k.CN_CHARGE]),
        "paid_cents": _ints(cl_n[k.CN_PAID]),
        "reported_patient_responsibility_cents": _ints(cl_n[k.CN_PR_REPORTED]),
        "claim_filing_indicator": sc[k.C_FILING],
        "payer_claim_control_number": sc[k.C_PAYER_CLAIM],
        "facility_type": sc[k.C_FACILITY],
        "frequency_code": sc[k.C_FREQUENCY],
        "statement_from": _ints(cl_n[k.CN_FROM], pa.date32()),
        "statement_to": _ints(cl_n[k.CN_TO], pa.date32()),
        "received_date": _ints(cl_n[k.CN_RECEIVED], pa.date32()),
        "rendering_provider_id": sc[k.C_RENDERING],
        "patient_key": person_keys(b, pat, salt),
        "subscriber_key": person_keys(b, sub, salt),
    }
    if keep_identifiers:
        for i, name in enumerate(IDENTIFIER_COLUMNS):
            claim_cols[name] = sc[k.C_PAT_LAST + i]
    del cl_s, cl_n, pat, sub, sc
    p.cl_s = p.cl_n = None
    tx_s, tx_n = p.tx_s, p.tx_n
    ntx = tx_s.shape[1]
    payer_id = st(tx_s, k.T_PAYER_ID)
    if payer_id.null_count:
        payer_id = pc.coalesce(payer_id, st(tx_s, k.T_PAYER_REF))
    transactions = _table(
        "transactions",
        {
            "transaction_id": _ids(ntx),
            "file": pa.array(np.full(ntx, file, dtype=object), pa.string()),
            "isa_sender": st(tx_s, k.T_ISA_SENDER),
            "isa_receiver": st(tx_s, k.T_ISA_RECEIVER),
            "isa_control": st(tx_s, k.T_ISA_CONTROL),
            "gs_sender": st(tx_s, k.T_GS_SENDER),
            "gs_receiver": st(tx_s, k.T_GS_RECEIVER),
            "gs_control": st(tx_s, k.T_GS_CONTROL),
            "gs_date": _ints(tx_n[k.TN_GS_DATE], pa.date32()),
            "version": st(tx_s, k.T_VERSION),
            "st_control": st(tx_s, k.T_ST_CONTROL),
            "payer_id": payer_id,
            "payer_id_qualifier": st(tx_s, k.T_PAYER_QUAL),
            "payer_name": st(tx_s, k.T_PAYER_NAME),
            "payee_name": st(tx_s, k.T_PAYEE_NAME),
            "payee_id_qualifier": st(tx_s, k.T_PAYEE_QUAL),
            "payee_id": st(tx_s, k.T_PAYEE_ID),
            "handling_code": st(tx_s, k.T_HANDLING),
            "payment_cents": _ints(tx_n[k.TN_PAYMENT]),
            "credit_debit": st(tx_s, k.T_CREDIT_DEBIT),
            "payment_method": st(tx_s, k.T_METHOD),
            "payment_date": _ints(tx_n[k.TN_PAY_DATE], pa.date32()),
            "trace_number": st(tx_s, k.T_TRACE),
            "trace_originator": st(tx_s, k.T_TRACE_ORIG),
            "production_date": _ints(tx_n[k.TN_PROD_DATE], pa.date32()),
        },
    )
    keep["tx_seg"] = tx_n[k.TN_SEG].copy()
    del tx_s, tx_n
    p.tx_s = p.tx_n = None
    r_line = p.re_n[k.RN_LINE]
    sources = np.array(["LQ", "MOA", "MIA"], dtype=object)
    remarks = _table(
        "remarks",
        {
            "claim_id": _ints(p.re_n[k.RN_CLAIM], pa.int32()),
            "line_id": _ints(np.where(r_line < 0, NULL, r_line), pa.int32()),
            "source": pa.DictionaryArray.from_arrays(
                pa.array(p.re_n[k.RN_SOURCE].astype(np.int8)), pa.array(sources)
            ).cast(pa.string()),
            "qualifier": st(p.re_s, k.R_QUAL),
            "code": st(p.re_s, k.R_CODE),
        },
    )
    plb = _table(
        "provider_adjustments",
        {
            "transaction_id": _ints(p.pl_n[k.PN_TX], pa.int32()),
            "provider_id": st(p.pl_s, k.P_PROVIDER),
            "fiscal_period_date": _ints(p.pl_n[k.PN_DATE], pa.date32()),
            "reason_code": st(p.pl_s, k.P_REASON),
            "reference": st(p.pl_s, k.P_REFERENCE),
            "amount_cents": _ints(p.pl_n[k.PN_AMOUNT]),
        },
    )
    claims, lines = _with_derived(_table("claims", claim_cols), line_cols, adjustments, keep)
    transactions_ = transactions
    findings = _findings(p, keep, file, transactions_, claims, lines, adjustments, plb)
    return Remittances(transactions_, claims, lines, adjustments, remarks, plb, findings)


def _with_derived(claims: pa.Table, line_cols: dict, adjustments: pa.Table, keep=None):
    """Fill the computed columns of claims and lines (shared with the builders).

    ``keep`` (a dict), when given, receives the derived arrays as ``"derived"``
    so the balancing checks do not compute them again.
    """
    lines = _table("service_lines", line_cols)
    d = derived_columns(claims, lines, adjustments)
    if keep is not None:
        keep["derived"] = d
    ci = claims.schema.get_field_index("patient_responsibility_cents")
    claims = claims.set_column(ci, claims.schema.field(ci), pa.array(d["claim_pr"]))
    ci = claims.schema.get_field_index("allowed_cents")
    claims = claims.set_column(ci, claims.schema.field(ci), pa.array(d["claim_allowed"]))
    li = lines.schema.get_field_index("allowed_cents")
    lines = lines.set_column(li, lines.schema.field(li), _ints(d["line_allowed"]))
    return claims, lines


# ----------------------------------------------------------------------------- findings
def _findings(p, keep, file, transactions, claims, lines, adjustments, plb) -> pa.Table:
    """Kernel findings plus the three balancing checks of the implementation guide."""
    rows = []  # small: one dict per finding, never per segment
    fn = p.fn
    for i in range(fn.shape[1]):
        code, seg, elem, tx, cl, li, vs, ve, pos = (int(x) for x in fn[:, i])
        name, what = FINDING_CODES[code]
        sid = segment_id_at(p.buf, pos)
        value = bytes(p.buf[vs:ve][:40]).decode("utf-8", "replace") if ve > vs else ""
        if name == "svc_malformed":
            msg = f"{sid}{elem:02d}: {what} (segment {value!r})"
        elif value:
            msg = f"{sid}{elem:02d} {value!r}: {what}"
        else:
            msg = f"{sid}{elem:02d}: {what}" if elem else f"{sid}: {what}"
        rows.append((seg, sid, elem or None, name, tx, cl, li, None, msg))

    d = keep["derived"]  # derived_columns(claims, lines, adjustments), same stored columns
    line_seg = keep["line_seg"]
    claim_seg = keep["claim_seg"]
    line_claim = keep["line_claim"]
    claim_tx = keep["claim_tx"]
    for li in np.flatnonzero((d["line_residual"] != NULL) & (d["line_residual"] != 0)):
        diff = int(d["line_residual"][li])
        cl = int(line_claim[li])
        rows.append(
            (int(line_seg[li]), "SVC", None, "unbalanced_line", int(claim_tx[cl]), cl,
             int(li), diff,
             f"service line charge - paid - line adjustments = {diff / 100:.2f}, not 0")
        )  # fmt: skip
    for cl in np.flatnonzero(d["claim_residual"] != 0):
        diff = int(d["claim_residual"][cl])
        rows.append(
            (int(claim_seg[cl]), "CLP", None, "unbalanced_claim", int(claim_tx[cl]),
             int(cl), None, diff,
             f"claim charge - paid - claim and line adjustments = {diff / 100:.2f}, not 0")
        )  # fmt: skip
    for tx, diff in _transaction_residuals(transactions, claims, plb):
        rows.append(
            (int(keep["tx_seg"][tx]), "BPR", 2, "unbalanced_transaction", int(tx), None, None,
             diff, f"BPR02 - (sum of CLP04 - sum of PLB) = {diff / 100:.2f}, not 0")
        )  # fmt: skip
    rows.sort(key=lambda r: (r[0], r[3]))
    return findings_table(file, rows)


def _transaction_residuals(transactions, claims, plb):
    ntx = transactions.num_rows
    if ntx == 0:
        return []
    paid = np.zeros(ntx, np.int64)
    k.group_sum_nb(
        np.ascontiguousarray(claims.column("paid_cents").to_numpy()),
        np.ascontiguousarray(claims.column("transaction_id").to_numpy().astype(np.int64)),
        paid,
    )
    plb_sum = np.zeros(ntx, np.int64)
    k.group_sum_nb(
        np.ascontiguousarray(plb.column("amount_cents").to_numpy()),
        np.ascontiguousarray(plb.column("transaction_id").to_numpy().astype(np.int64)),
        plb_sum,
    )
    bpr = pc.fill_null(transactions.column("payment_cents"), 0).to_numpy()
    debit = pc.fill_null(pc.equal(transactions.column("credit_debit"), "D"), False).to_numpy()
    has = transactions.column("payment_cents").is_valid().to_numpy(zero_copy_only=False)
    expected = paid - plb_sum
    residual = np.where(debit, -bpr, bpr) - expected
    out = np.flatnonzero(has & (residual != 0))
    return [(int(t), int(residual[t])) for t in out]


def findings_table(file, rows) -> pa.Table:
    """Findings rows (segment, segment id, element, code, tx, claim, line, diff, msg)."""
    cols = list(zip(*rows, strict=True)) if rows else [[]] * 9
    seg, sid, elem, code, tx, cl, li, diff, msg = cols

    def opt(v):
        return None if v is None or v < 0 else v

    return pa.Table.from_arrays(
        [
            pa.array([file] * len(rows), pa.string()),
            pa.array(list(seg), pa.int64()),
            pa.array(list(sid), pa.string()),
            pa.array([opt(e) for e in elem], pa.int32()),
            pa.array(list(code), pa.string()),
            pa.array([opt(v) for v in tx], pa.int32()),
            pa.array([opt(v) for v in cl], pa.int32()),
            pa.array([opt(v) for v in li], pa.int32()),
            pa.array(list(diff), pa.int64()),
            pa.array(list(msg), pa.string()),
        ],
        schema=schema("findings"),
    )


# ----------------------------------------------------------------------------- public
def _read_bytes(buf: np.ndarray, name: str, salt, keep_identifiers, strict) -> Remittances:
    parsed = tokenize(_as_utf8(buf), name)
    r = _build(parsed, name, salt, keep_identifiers)
    if strict and r.findings.num_rows:
        f = r.findings.slice(0, 1).to_pylist()[0]
        raise X12Error(
            name,
            f["segment_number"],
            f["segment_id"],
            f["element"],
            f"{f['code']}: {f['message']}",
        )
    return r


def _files(source) -> list:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return [source]
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_dir():
            return sorted(
                f
                for f in path.iterdir()
                if f.is_file() and not f.name.startswith(".") and f.suffix.lower() in FILE_SUFFIXES
            )
        return [path]
    if isinstance(source, (list, tuple)):
        out = []
        for s in source:
            out.extend(_files(s))
        return out
    raise TypeError(
        f"source must be a path, a folder, a list of paths or bytes, not {type(source).__name__}"
    )


def read_835(
    source,
    *,
    salt: str | bytes | None = None,
    keep_identifiers: bool = False,
    strict: bool = False,
    on_error: str = "raise",
) -> Remittances:
    """Read X12 835 remittances into Arrow tables.

    Parameters
    ----------
    source : path, folder, list of paths, or bytes
        One file, every ``.835/.edi/.x12/.txt/.era/.dat`` file of a folder
        (sorted by name), a list of files or folders, or the bytes of one file.
    salt : str or bytes, optional
        Secret that keys the pseudonyms ``patient_key`` and ``subscriber_key``
        (keyed SipHash of name and member id). Without a salt the keys are null
        (ids that are already ledgerkit keys, as ``write_835`` writes them,
        are kept). Use the same salt everywhere to link the same patient.
    keep_identifiers : bool
        Also keep patient and subscriber names and member ids (``NM1*QC``,
        ``NM1*IL``) in the claims table. Off by default: they are PHI.
    strict : bool
        Raise :class:`X12Error` on the first finding (odd content or a failed
        balancing check) instead of returning it in ``findings``.
    on_error : {"raise", "skip"}
        With several files, ``"skip"`` reads the good ones and lists the bad
        ones (with the error) in ``Remittances.skipped``; ``"raise"`` stops at
        the first bad file.

    Returns
    -------
    Remittances

    Raises
    ------
    X12Error
        A file cannot be read (truncated, broken ISA, not an 835, wrong
        segment counts, a segment out of place, a non-numeric amount, ...):
        the message names the file, segment number, segment id and element.
    FileNotFoundError, TypeError
        Missing path; unsupported ``source`` type.

    Examples
    --------
    >>> raw = (b"ST*835*0001~BPR*I*80*C*CHK************20250110~TRN*1*CHK1*1999~"
    ...        b"N1*PR*ACME HEALTH*XV*ACME1~N1*PE*CLINIC*XX*1234567893~"
    ...        b"CLP*ENC1*1*150*80*30*12*PCN1~NM1*QC*1*DOE*JANE****MI*M123~"
    ...        b"SVC*HC:99213:25*150*80**1~DTM*472*20250102~CAS*CO*45*40~CAS*PR*2*20*1*3*10~"
    ...        b"AMT*B6*110~SE*13*0001~")
    >>> r = read_835(raw, salt="clinic-secret")
    >>> claim = r.claims.to_pylist()[0]
    >>> claim["encounter_id"], claim["paid_cents"], claim["allowed_cents"]
    ('ENC1', 8000, 11000)
    >>> claim["patient_responsibility_cents"]
    3000
    >>> r.adjustments.column("carc").to_pylist()
    ['45', '2', '3']
    >>> r.service_lines.column("modifiers").to_pylist()
    ['25']
    >>> r.claims.column("patient_key")[0].as_py()[:2], r.claims.column("patient_id")[0].as_py()
    ('LK', None)
    >>> r.findings.column("code").to_pylist()
    ['no_envelope']
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', not {on_error!r}")
    files = _files(source)
    parts, skipped = [], []
    for f in files:
        if isinstance(f, (bytes, bytearray, memoryview)):
            name, buf = "<bytes>", np.frombuffer(bytes(f), np.uint8)
        else:
            name = str(f)
            if not Path(f).is_file():
                raise FileNotFoundError(f"{name}: no such file")
            buf = np.fromfile(f, dtype=np.uint8)
        try:
            parts.append(_read_bytes(buf, name, salt, keep_identifiers, strict))
        except X12Error as e:
            if on_error == "raise":
                raise
            skipped.append((name, str(e)))
    out = Remittances.concat(parts)
    if skipped:
        out = Remittances(*(getattr(out, t) for t in TABLE_NAMES), skipped=skipped)
    return out
