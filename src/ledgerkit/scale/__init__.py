"""Scale-out: the Dask API (``api``, importable as ``ledgerkit.dask``) and its clusters
(``cluster``), partitioned ledgers on disk (``partitioning``), exact TAA and metric combining.
"""

from ledgerkit.scale.api import *  # noqa: F403
from ledgerkit.scale.api import __all__ as _api_names
from ledgerkit.scale.metrics import METRICS
from ledgerkit.scale.partitioning import (
    PartitionedLedger,
    write_generated_partition,
    write_manifest,
)
from ledgerkit.scale.taa import GlobalHistory

__all__ = [
    *_api_names,
    "METRICS",
    "GlobalHistory",
    "PartitionedLedger",
    "write_generated_partition",
    "write_manifest",
]
