"""The Dask distributed backend gives the local backend's results (sim.run.dask_backend)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import assert_same

from sim.run import runner
from sim.spec.loader import load

TEACHING = Path(__file__).resolve().parent.parent / "scenarios" / "teaching.yaml"
distributed = pytest.importorskip("distributed")


@pytest.mark.slow
def test_dask_cluster_matches_local_run():
    """Same seed on a local Dask cluster (2 worker processes) = same aggregate as locally."""
    model = load(TEACHING)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        on_dask = runner.run(model, 1000, 11, scheduler=cluster.scheduler_address)
    local = runner.run(model, 1000, 11, workers=1)
    assert on_dask.runs == local.runs == 1000
    assert_same(on_dask.aggregate, local.aggregate)


def test_stop_rule_on_dask_stops_where_local_stops():
    """An early-stopping rule stops at the same replication count on Dask and locally."""
    model = load(TEACHING)

    def stop(agg):
        return agg.n >= 600

    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        on_dask = runner.run(model, 5000, 2, scheduler=cluster.scheduler_address,
                             stop_when=stop)
    local = runner.run(model, 5000, 2, workers=1, stop_when=stop)
    assert on_dask.runs == local.runs == 600
    assert on_dask.stopped_early and local.stopped_early
