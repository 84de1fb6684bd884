"""Synthetic data: ledgers (``ledgers``), the remittances their payers would send
(``remits``), the claims they were billed on (``claims``: 837P files), payer
contracts and ledgers priced by them (``pricing``) and the
bundled sample 835 files (``samples``).

>>> import ledgerkit as lk
>>> lk.synth.generate(10, seed=0).encounters.num_rows
10
"""

from ledgerkit.synth.claims import write_837s
from ledgerkit.synth.denial_lifecycle import Lifecycle, lifecycle
from ledgerkit.synth.ledgers import (
    ACTORS,
    CLAIM_DENIALS,
    CPTS,
    MEAN_PROCEDURES_PER_ENCOUNTER,
    PAYERS,
    POS,
    POS_P,
    PROVIDERS,
    REDUCTIONS,
    SAMPLE_ENCOUNTERS,
    SAMPLE_SEED,
    SECONDARY_IDS,
    SITES,
    generate,
    load_sample,
    remittances,
    sample_folder,
    write_sample,
)
from ledgerkit.synth.pricing import (
    CONTRACT_SCHEMA,
    PLANTED_KINDS,
    ContractLedger,
    contract_ledger,
    contracts,
    sample_contracts,
    write_sample_contracts,
)

__all__ = [
    "generate",
    "lifecycle",
    "Lifecycle",
    "PAYERS",
    "CPTS",
    "write_sample",
    "write_837s",
    "load_sample",
    "remittances",
    "sample_folder",
    "SAMPLE_ENCOUNTERS",
    "SAMPLE_SEED",
    "MEAN_PROCEDURES_PER_ENCOUNTER",
    # contracts and ledgers priced by them (module ``pricing``)
    "contracts",
    "contract_ledger",
    "ContractLedger",
    "CONTRACT_SCHEMA",
    "PLANTED_KINDS",
    "sample_contracts",
    "write_sample_contracts",
    # the generator's tables, for tests and notebooks that check against them
    "ACTORS",
    "CLAIM_DENIALS",
    "POS",
    "POS_P",
    "PROVIDERS",
    "REDUCTIONS",
    "SECONDARY_IDS",
    "SITES",
]
