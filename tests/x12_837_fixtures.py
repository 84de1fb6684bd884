"""Hand-written 837 fixtures for the shapes the public samples show (never copies).

``envelope`` wraps transaction bodies in a fixed-width ISA/GS/ST..SE/GE/IEA
with the right counts, so each fixture is only its loops. The names and ids
in them are made up; ``CANARY`` marks every identifying value, so tests can
check it never leaks.
"""

from __future__ import annotations

CANARY = "QZCANARYQZ"


def envelope(bodies, version="005010X222A1", sep="*", comp=":", term="~\n", control="000000101"):
    """An interchange with one GS and one ST..SE per body (a list of segment strings)."""
    isa = (
        f"ISA{sep}00{sep}          {sep}00{sep}          {sep}ZZ{sep}SUBMITTER01    {sep}ZZ"
        f"{sep}RECEIVER01     {sep}250110{sep}1200{sep}^{sep}00501{sep}{control}{sep}0{sep}P"
        f"{sep}{comp}"
    )
    assert len(isa) == 105
    segs = [isa, sep.join(["GS", "HC", "SUBMITTER01", "RECEIVER01", "20250110", "1200", "7",
                           "X", version])]  # fmt: skip
    for n, body in enumerate(bodies, start=1):
        st = f"{n:04d}"
        inner = [s.replace("*", sep).replace(":", comp) for s in body]
        segs.append(sep.join(["ST", "837", st, version]))
        segs.extend(inner)
        segs.append(sep.join(["SE", str(len(inner) + 2), st]))
    segs.append(sep.join(["GE", str(len(bodies)), "7"]))
    segs.append(sep.join(["IEA", "1", control]))
    return (term.join(segs) + term).encode()


HEADER = [
    "BHT*0019*00*BATCH1*20250110*1200*CH",
    "NM1*41*2*BILLING SERVICE*****46*SUB123",
    "PER*IC*CONTACT*TE*5555550100",
    "NM1*40*2*ACME CLEARING*****46*RCV456",
    "HL*1**20*1",
    "NM1*85*2*FAMILY CLINIC*****XX*1234567893",
    "N3*1 MAIN ST",
    "N4*TOWN*ST*12345",
    "REF*EI*111222333",
]


def subscriber(resp="P", payer="ACME1", payer_name="ACME HEALTH", last="DOE", member="M100",
               child=False):  # fmt: skip
    segs = [
        f"HL*2*1*22*{1 if child else 0}",
        f"SBR*{resp}*{'' if child else '18'}*GRP9******CI",
        f"NM1*IL*1*{last}{CANARY}*JANE****MI*{member}{CANARY}",
        f"N3*12 {CANARY} ROAD",
        "N4*TOWN*ST*12345",
        "DMG*D8*19800101*F",
        f"NM1*PR*2*{payer_name}*****PI*{payer}",
    ]
    if child:
        segs += [
            "HL*3*2*23*0",
            "PAT*19",
            f"NM1*QC*1*{last}{CANARY}*KID",
            f"N3*12 {CANARY} ROAD",
            "N4*TOWN*ST*12345",
            "DMG*D8*20150505*M",
        ]
    return segs


# 837P: two lines, one with a modifier pair, REF*6R, a drug line with an NDC; a
# claim-level service date the second line inherits; a patient loop (child).
PROFESSIONAL = (
    HEADER
    + subscriber(child=True)
    + [
        "CLM*ENC-P1*230.50***11:B:1*Y*A*Y*Y",
        "DTP*472*D8*20250102",
        "REF*G1*AUTH77",
        "HI*ABK:J069*ABF:R05",
        "NM1*82*1*WELBY*MARCUS****XX*1098765432",
        "LX*1",
        "SV1*HC:99214:25:59*180.00*UN*1***1:2",
        "DTP*472*D8*20250103",
        "REF*6R*LCN0001",
        "LX*2",
        "SV1*HC:J1100*50.50*UN*2***1",
        "LIN**N4*00009012345",
        "CTP****2*UN",
        "REF*6R*LCN0002",
    ]
)

# 837I: facility type 13, statement period, attending, a revenue-code-only line.
INSTITUTIONAL = (
    HEADER
    + subscriber(payer="MCARE", payer_name="MEDICARE A")
    + [
        "CLM*ENC-I1*1500.00***13:A:1**A*Y*Y",
        "DTP*434*RD8*20250101-20250103",
        "CL1*1**01",
        "HI*ABK:I10",
        "HI*ABF:E119*ABF:Z7984",
        "NM1*71*1*ATTENDING*ANN****XX*1555555555",
        "LX*1",
        "SV2*0450*HC:99284*1200.00*UN*1",
        "DTP*472*RD8*20250101-20250102",
        "REF*6R*I-1",
        "LX*2",
        "SV2*0250**300.00*UN*3",
        "DTP*472*D8*20250103",
    ]
)

# COB to the secondary, seed 003's two worked examples as its two lines: the primary
# paid $0 on a $150 fee (CO-45 $40 + PR-1 $110) and $80 on a $150 fee (CO-45 $40, PR-2
# $20, PR-3 $10); claim level AMT*D is the primary's total paid.
COB = (
    HEADER
    + subscriber(resp="S", payer="SECOND1", payer_name="SECOND PAYER")
    + [
        "CLM*ENC-C1*300.00***11:B:1*Y*A*Y*Y",
        "HI*ABK:M545",
        "SBR*P*18*GRP1******CI",
        "AMT*D*80.00",
        "OI***Y*P**Y",
        f"NM1*IL*1*DOE{CANARY}*JANE****MI*OTHER{CANARY}",
        "NM1*PR*2*FIRST PAYER*****PI*FIRST1",
        "LX*1",
        "SV1*HC:99213*150.00*UN*1",
        "DTP*472*D8*20250105",
        "REF*6R*C-1",
        "SVD*FIRST1*0*HC:99213**1",
        "CAS*CO*45*40.00",
        "CAS*PR*1*110.00",
        "DTP*573*D8*20250120",
        "LX*2",
        "SV1*HC:97110:GP*150.00*UN*1",
        "DTP*472*D8*20250105",
        "REF*6R*C-2",
        "SVD*FIRST1*80.00*HC:97110:GP**1",
        "CAS*CO*45*40.00",
        "CAS*PR*2*20.00**3*10.00",
        "DTP*573*D8*20250120",
    ]
)

# 4010 837P: the billing provider's EIN in NM109 (NM108 24), ICD-9 qualifiers.
PROFESSIONAL_4010 = [
    "BHT*0019*00*OLD1*20090110*1200*CH",
    "NM1*41*2*OLD BILLING*****46*OLD123",
    "NM1*40*2*OLD PAYER*****46*OLDRCV",
    "HL*1**20*1",
    "NM1*85*2*OLD CLINIC*****24*999887777",
    "N3*9 ELM ST",
    "N4*TOWN*ST*12345",
    "HL*2*1*22*0",
    "SBR*P*18*******MB",
    f"NM1*IL*1*SMITH{CANARY}*JOHN****MI*HIC{CANARY}",
    "NM1*PR*2*MEDICARE B*****PI*00901",
    "CLM*OLD-1*95.25***11::1*Y*A*Y*Y*C",
    "HI*BK:4019*BF:25000",
    "LX*1",
    "SV1*HC:99213*95.25*UN*1***1:2",
    "DTP*472*D8*20090105",
]

FIXTURES = {
    "professional": envelope([PROFESSIONAL]),
    "institutional": envelope([INSTITUTIONAL], version="005010X223A2"),
    "cob": envelope([COB]),
    "professional_4010": envelope([PROFESSIONAL_4010], version="004010X098A1"),
    "pipes_newlines": envelope([PROFESSIONAL], sep="|", comp=">", term="\n"),
    "two_transactions": envelope([PROFESSIONAL, COB]),
}
