"""Every shared 837 sample, pinned: claims (CLM), service lines (SV1/SV2), the total
claim charge (sum of CLM02) and the total line charge, in cents.

The counts are the README's table (checked against it below); the totals were read
with a plain split of each file's segments (Decimal, no ledgerkit code) and agree with
pyx12 and linuxforhealth-x12 where they read the file (benchmarks/compare_837.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import ledgerkit as lk

SAMPLES = Path(__file__).parents[2] / "shared" / "data" / "x12-public" / "837"

# file: (claims, lines, total CLM02 cents, total line charge cents)
PINNED = {
    "lfh_005010X222A2_demo.ambulance.example5.837": (1, 4, 76650, 76650),
    "lfh_005010X222A2_demo.autoaccident.837": (1, 2, 18500, 18500),
    "lfh_005010X222A2_demo.cob.2ndary.example4.837": (1, 1, 14550, 14550),
    "lfh_005010X222A2_demo.cob.example3.A.837": (1, 3, 7904, 7904),
    "lfh_005010X222A2_demo.cob.example3.B.837": (1, 3, 7904, 7904),
    "lfh_005010X222A2_demo.cob.example3.C.837": (1, 3, 7904, 7904),
    "lfh_005010X222A2_demo.cob.example4.837": (1, 1, 12000, 12000),
    "lfh_005010X222A2_demo.drug.example10.1.837": (1, 2, 10337, 10337),
    "lfh_005010X222A2_demo.drug.example10.2.837": (1, 6, 223293, 223293),
    "lfh_005010X222A2_demo.drug.example10.3.837": (1, 6, 223293, 223293),
    "lfh_005010X222A2_demo.example1.837": (1, 4, 10000, 10000),
    "lfh_005010X222A2_demo.example11.837": (1, 2, 2875, 2875),
    "lfh_005010X222A2_demo.example12.837": (1, 1, 25271, 25271),
    "lfh_005010X222A2_demo.example2.837": (1, 4, 10000, 10000),
    "lfh_005010X222A2_demo.example6.837": (1, 1, 14550, 14550),
    "lfh_005010X222A2_demo.example7.837": (1, 2, 52024, 52024),
    "lfh_005010X222A2_demo.example8.837": (1, 1, 7500, 7500),
    "lfh_005010X222A2_demo.example9.837": (1, 1, 82700, 82700),
    "lfh_005010X223A3_institutional-claim.837i": (1, 2, 8993, 8993),
    "lfh_005010X223A3_out-of-network-repriced-claim.837i": (1, 1, 1484, 1484),
    "lfh_005010X223A3_ppo-repriced-claim.837i": (1, 2, 23750, 23750),
    "lfh_005010X223A3_two-claims-single-provider.837i": (2, 3, 13995, 13995),
}
pytestmark = pytest.mark.skipif(not SAMPLES.exists(), reason="shared 837 samples not found")


def test_pins_match_the_readme_and_cover_every_sample():
    readme = {}
    for row in (SAMPLES / "README.md").read_text().splitlines():
        m = re.match(r"\|\s*(lfh_\S+)\s*\|\s*\d+\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|", row)
        if m:
            readme[m.group(1)] = (int(m.group(2)), int(m.group(3)))
    assert readme == {name: pins[:2] for name, pins in PINNED.items()}
    assert sorted(p.name for p in SAMPLES.glob("lfh_*")) == sorted(PINNED)


@pytest.mark.parametrize("name", sorted(PINNED))
def test_sample(name):
    c = lk.read_837(SAMPLES / name)
    claims, lines, total, line_total = PINNED[name]
    assert c.claims.num_rows == claims
    assert c.service_lines.num_rows == lines
    assert sum(c.claims["line_count"].to_pylist()) == lines
    assert sum(c.claims["charge_cents"].to_pylist()) == total
    assert sum(c.service_lines["charge_cents"].to_pylist()) == line_total


def test_folder_totals():
    c = lk.read_837(SAMPLES)
    assert (c.claims.num_rows, c.service_lines.num_rows) == (23, 55)
    assert sum(c.claims["charge_cents"].to_pylist()) == sum(v[2] for v in PINNED.values())
    assert sum(v[2] for v in PINNED.values()) == 855_477
