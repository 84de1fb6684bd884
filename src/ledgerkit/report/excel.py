"""A proposal as an Excel workbook (openpyxl, the ``lab`` extra).

One sheet per part, headers in words on a frozen first row, money as dollars
with a ``$#,##0.00`` number format (the cell holds cents / 100: the exact
dollars a person would type), rates as percentages, counts with thousands
separators, and native Excel line charts on the two curve sheets.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from ledgerkit.report.format import PAYER_COLUMNS, SELF_PAY, column_kind, label

__all__ = ["write_excel", "SHEETS", "MONEY_FORMAT", "RATE_FORMAT", "COUNT_FORMAT"]

SHEETS = {
    "rules": "Rules",
    "payers": "Payers",
    "taas": "TAAs",
    "taa_curve": "TAA curve",
    "small_balance_curve": "Small-balance curve",
    "samples": "Samples",
    "assumptions": "Assumptions",
    "definitions": "Definitions",
}
MONEY_FORMAT = '"$"#,##0.00'
RATE_FORMAT = "0.0%"
COUNT_FORMAT = "#,##0"
WIDE_COLUMNS = {"definition": 100, "value": 70, "config": 48}


def _cell(value, name: str, kind: str):
    if value is None:
        return SELF_PAY if name in PAYER_COLUMNS else None
    if kind == "money":
        return int(value) / 100 if isinstance(value, int) else round(float(value)) / 100
    return value


def _sheet(wb, title: str, table: pa.Table):
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(title)
    names = table.column_names
    kinds = [
        column_kind(n, t.value_type if pa.types.is_dictionary(t) else t)
        for n, t in zip(names, table.schema.types, strict=True)
    ]
    ws.append([label(n) for n in names])
    head_fill = PatternFill("solid", fgColor="DDE5F0")
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = head_fill
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    columns = [table[n].to_pylist() for n in names]
    for i in range(table.num_rows):
        ws.append([_cell(col[i], n, k) for col, n, k in zip(columns, names, kinds, strict=True)])
    formats = {"money": MONEY_FORMAT, "rate": RATE_FORMAT, "count": COUNT_FORMAT}
    for j, (name, kind) in enumerate(zip(names, kinds, strict=True), start=1):
        letter = get_column_letter(j)
        fmt = formats.get(kind)
        if fmt is not None:
            for row in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                row[0].number_format = fmt
        width = WIDE_COLUMNS.get(name, max(12, min(40, len(label(name)) + 2)))
        ws.column_dimensions[letter].width = width
        if name in WIDE_COLUMNS:
            for row in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                row[0].alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    return ws


def _line_chart(ws, table: pa.Table, title: str, x_title: str, anchor: str) -> None:
    from openpyxl.chart import LineChart, Reference

    names = table.column_names
    n = table.num_rows
    chart = LineChart()
    chart.title = title
    chart.x_axis.title = x_title
    chart.y_axis.title = "dollars"
    chart.y_axis.number_format = '"$"#,##0'
    chart.height, chart.width = 9, 18
    for name in ("written_off_cents", "ar_closed_cents"):
        col = names.index(name) + 1
        chart.add_data(Reference(ws, min_col=col, min_row=1, max_row=n + 1), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=n + 1))
    ws.add_chart(chart, anchor)


def write_excel(proposal, path) -> Path:
    """Write ``proposal`` (a :class:`~ledgerkit.report.Proposal`) as ``path`` (.xlsx).

    Examples
    --------
    >>> import tempfile, openpyxl, ledgerkit as lk
    >>> p = lk.report.proposal(lk.synth.generate(300, seed=1))
    >>> out = p.to_excel(Path(tempfile.mkdtemp()) / "proposal.xlsx")
    >>> openpyxl.load_workbook(out).sheetnames[:3]
    ['Rules', 'Payers', 'TAAs']
    """
    try:
        from openpyxl import Workbook
    except ImportError as e:  # the lab extra
        raise ImportError("Excel export needs openpyxl: pip install 'ledgerkit[lab]'") from e

    path = Path(path).expanduser()
    if path.suffix.lower() != ".xlsx":
        raise ValueError(f"{path.name}: an Excel proposal is a .xlsx file")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"no folder {path.parent} to write {path.name} into")
    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.title = proposal.title
    for part, table in proposal.parts().items():
        ws = _sheet(wb, SHEETS[part], table)
        if part == "taa_curve":
            _line_chart(ws, table, "TAA rule alone", "TAA percentile", "H2")
        elif part == "small_balance_curve":
            _line_chart(ws, table, "Small-balance rule alone", "threshold ($)", "H2")
    wb.save(path)
    return path
