"""A plain-Python 837 reader for tests: obviously correct, slow, no ledgerkit code.

Reads only what the tests compare: claims (CLM01, CLM02), their lines (code,
modifiers, revenue code, charge, units, REF*6R, LIN*N4), diagnoses (HI) and
prior payers' adjudication (SVD, CAS, AMT after a claim's SBR). Files must
have a fixed-width ISA (every shared sample and fixture has).
"""

from __future__ import annotations

from decimal import Decimal


def cents(text: str) -> int:
    value = Decimal(text) * 100
    assert value == value.to_integral_value(), text
    return int(value)


def split_isa(data: bytes):
    """(element separator, component separator, segment terminator, text from ISA)."""
    text = data.decode("latin-1")
    start = text.index("ISA")
    return text[start + 3], text[start + 104], text[start + 105], text[start:]


def components(element: str, comp: str) -> list[str]:
    """Components of a composite; a file whose composites use another separator than
    its ISA16 (seen in the public samples) has it as the third byte, after "HC"."""
    if comp not in element and len(element) >= 3 and not element[2].isalnum():
        if element[2] not in " -.":
            comp = element[2]
    return element.split(comp)


def reference_read(data: bytes) -> list[dict]:
    """Claims of an 837 file as plain dicts, in file order."""
    esep, comp, term, text = split_isa(data)
    claims: list[dict] = []
    claim = line = None
    in_other_payer = False
    for raw in text.split(term):
        seg = raw.strip()
        if not seg:
            continue
        el = seg.split(esep)
        sid = el[0]

        def get(n, el=el):
            return el[n] if len(el) > n else ""

        if sid == "HL":
            claim = line = None
            in_other_payer = False
        elif sid == "CLM":
            claim = {"id": el[1], "charge": cents(el[2]), "lines": [], "dx": [], "prior": []}
            claims.append(claim)
            line = None
            in_other_payer = False
        elif sid == "SBR" and claim is not None:
            in_other_payer = True
        elif sid == "HI" and claim is not None:
            for composite in el[1:]:
                if composite:
                    parts = components(composite, comp)
                    claim["dx"].append((parts[0], parts[1] if len(parts) > 1 else None))
        elif sid == "LX" and claim is not None:
            in_other_payer = False
            line = None
        elif sid in ("SV1", "SV2"):
            proc = get(1) if sid == "SV1" else get(2)
            parts = components(proc, comp) if proc else []
            mods = [m for m in parts[2:6] if m]
            units = get(4) if sid == "SV1" else get(5)
            line = {
                "code": parts[1] if len(parts) > 1 else None,
                "modifiers": ":".join(mods) or None,
                "revenue": get(1) if sid == "SV2" else None,
                "charge": cents(get(2) if sid == "SV1" else get(3)),
                "units": float(units) if units else None,
                "control": None,
                "ndc": None,
            }
            claim["lines"].append(line)
        elif sid == "REF" and line is not None and get(1) == "6R":
            line["control"] = get(2)
        elif sid == "LIN" and line is not None and get(2) == "N4":
            line["ndc"] = get(3)
        elif sid == "SVD" and line is not None:
            claim["prior"].append(("SVD", len(claim["lines"]) - 1, None, cents(get(2))))
            line["adjudicated"] = True
        elif sid == "CAS" and claim is not None and (in_other_payer or line is not None):
            where = len(claim["lines"]) - 1 if line is not None else None
            for k in range(2, len(el), 3):
                if el[k]:
                    claim["prior"].append(("CAS", where, (el[1], el[k]), cents(el[k + 1])))
        elif sid == "AMT" and claim is not None:
            if line is not None and line.get("adjudicated"):
                claim["prior"].append(("AMT", len(claim["lines"]) - 1, get(1), cents(get(2))))
            elif line is None and in_other_payer:
                claim["prior"].append(("AMT", None, get(1), cents(get(2))))
    return claims
