"""The dimensions of the denial analytics (``by=``): names, dense codes and labels.

Dimensions (``by=``) and what they mean on each row:

month
    month of the encounter's service date ("2025-03").
payer, payer_class
    the primary payer (payer_seq 1) of the claim; for entry-level facts
    (``denial_dollars``, root causes) the payer that posted the entry.
provider, location, site, place_of_service
    the encounter's rendering provider, location, practice site and CMS
    place-of-service code.
cpt
    the procedure's CPT/HCPCS code.
carc, category, type
    the denial reason of the row: the CARC of the line's largest denial
    (for entry-level facts, the entry's own CARC), its catalogue category and
    its denial type (technical, clinical or administrative).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ledgerkit.analytics.derived import derived
from ledgerkit.core.arrow import day_numbers, dictionary_codes
from ledgerkit.core.catalog import CATEGORIES, TYPES, CarcCatalog

__all__ = ["DIMENSIONS", "REASON_DIMS", "Dims", "parse_by"]

DIMENSIONS = (
    "month", "payer", "payer_class", "provider", "location", "site", "place_of_service",
    "cpt", "carc", "category", "type",
)  # fmt: skip
REASON_DIMS = ("carc", "category", "type")


def parse_by(by) -> tuple[str, ...]:
    """Normalise ``by`` (None, a name or a sequence of names) and validate it."""
    if by is None:
        return ()
    if isinstance(by, str):
        by = (by,)
    by = tuple(by)
    for name in by:
        if name not in DIMENSIONS:
            raise ValueError(f"by: unknown dimension {name!r}; choose from {DIMENSIONS}")
    if len(set(by)) != len(by):
        raise ValueError(f"by: a dimension appears twice in {by}")
    return by


class Dims:
    """Dense codes and labels of every dimension for one ledger.

    Each ``codes`` array uses ``len(labels) - 1`` for null (the last label is
    None), so every row has a code in ``[0, card)``.
    """

    def __init__(self, ledger, catalog: CarcCatalog | None = None, policy=None):
        self.ledger = ledger
        self.catalog = catalog or CarcCatalog.default()
        data = derived(ledger, policy)
        self.facts = data.facts
        self._enc = data.memo.setdefault("dims", {})
        self._reason_maps = None

    # encounter-level dimensions
    def encounter(self, name: str) -> tuple[np.ndarray, list]:
        if name in self._enc:
            return self._enc[name]
        enc = self.ledger.encounters
        if name == "month":
            days = day_numbers(enc["service_date"]).astype("datetime64[D]")
            months = days.astype("datetime64[M]").astype(np.int64)
            lo = int(months.min()) if len(months) else 0
            hi = int(months.max()) if len(months) else -1
            labels = [str(np.datetime64(m, "M")) for m in range(lo, hi + 1)] + [None]
            out = ((months - lo).astype(np.int32), labels)
        elif name in ("payer", "payer_class"):
            codes, values = _null_coded(enc["payer1_id"])
            if name == "payer":
                out = (codes, values)
            else:
                out = self._payer_class(codes, values)
        elif name in ("provider", "location", "site"):
            out = _null_coded(enc[f"{name}_id"])
        elif name == "place_of_service":
            out = _null_coded(enc["place_of_service"])
        else:  # pragma: no cover - guarded by parse_by
            raise ValueError(name)
        self._enc[name] = out
        return out

    def _payer_class(self, codes, values):
        payers = self.ledger.payers
        ids = payers["payer_id"].to_pylist()
        classes = payers["payer_class"].cast(pa.string()).to_pylist()
        cls_of = dict(zip(ids, classes, strict=True))
        labels = sorted({c for c in classes if c is not None} | {"other"}) + [None]
        lut = np.array(
            [
                labels.index(cls_of.get(v, "other")) if v is not None else len(labels) - 1
                for v in values
            ],
            np.int32,
        )
        return lut[codes], labels

    def cpt(self) -> tuple[np.ndarray, list]:
        if "cpt" not in self._enc:
            keys = self.ledger.keys
            codes, values = _null_coded(self.ledger.procedures["cpt"])
            if keys.proc_order is not None:
                codes = codes[keys.proc_order]
            self._enc["cpt"] = (codes, values)
        return self._enc["cpt"]

    def reason_maps(self):
        """(category code per carc dictionary code, catalogue codes) with a null slot."""
        if self._reason_maps is None:
            values = self.facts.carc_values
            fields = self.catalog.codes_for(values)
            self._reason_maps = fields
        return self._reason_maps

    def columns(self, by, *, proc, reason=None, payer=None, month=None):
        """(codes, labels) per name in ``by`` for fact rows.

        proc : grouped procedure of each row; reason : carc code per row (-1
        none); payer : payer dictionary code per row (overrides the primary);
        month : month code per row (overrides the service month).
        """
        enc = self.facts.proc_enc[proc]
        out = []
        for name in by:
            if name in REASON_DIMS:
                if reason is None:
                    raise ValueError(f"by={name!r} is not available for this metric")
                if name == "carc":
                    labels = list(self.facts.carc_values) + [None]
                    codes = np.where(reason >= 0, reason, len(labels) - 1).astype(np.int32)
                else:
                    labels = list(CATEGORIES if name == "category" else TYPES) + [None]
                    cat = self.reason_maps()[name]
                    if len(cat):
                        codes = np.where(reason >= 0, cat[np.maximum(reason, 0)], len(labels) - 1)
                    else:
                        codes = np.full(len(reason), len(labels) - 1)
                    codes = codes.astype(np.int32)
            elif name == "cpt":
                c, labels = self.cpt()
                codes = c[proc]
            elif name == "payer" and payer is not None:
                labels = list(self.facts.payer_values) + [None]
                codes = np.where(payer >= 0, payer, len(labels) - 1).astype(np.int32)
            elif name == "payer_class" and payer is not None:
                codes0, labels = self._payer_class(
                    np.arange(len(self.facts.payer_values) + 1, dtype=np.int32),
                    list(self.facts.payer_values) + [None],
                )
                codes = codes0[np.where(payer >= 0, payer, len(self.facts.payer_values))]
            elif name == "month" and month is not None:
                codes, labels = month
            else:
                c, labels = self.encounter(name)
                codes = c[enc]
            out.append((name, codes, labels))
        return out

    def month_of_days(self, days: np.ndarray):
        """Month codes and labels for a day array (e.g. posting days)."""
        months = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
        lo = int(months.min()) if len(months) else 0
        hi = int(months.max()) if len(months) else -1
        labels = [str(np.datetime64(m, "M")) for m in range(lo, hi + 1)] + [None]
        return (months - lo).astype(np.int32), labels


def _null_coded(column) -> tuple[np.ndarray, list]:
    codes, values = dictionary_codes(column)
    labels = list(values) + [None]
    return np.where(codes >= 0, codes, len(labels) - 1).astype(np.int32), labels
