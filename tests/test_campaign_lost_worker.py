"""A Dask worker killed mid-campaign: its batches are retried elsewhere (or on its restarted
process) and the result is identical to a run without the loss, because each sample's
randomness comes from (campaign seed, stage, index) alone."""
import os
import signal

from test_campaign_execution import _equal, short

from safetwin.campaign import engine, execution


def test_a_worker_killed_mid_campaign_leaves_the_result_unchanged():
    c = short(n=12, duration_s=150.0)  # 6 batches of 2 closed-loop samples
    reference = engine.run(c)
    ex = execution.DaskExecutor(workers=2)
    killed = {}
    try:
        pids = ex.client.run(os.getpid)  # worker address -> its process id

        def kill_a_busy_worker(progress):
            if killed:
                return
            busy = {w: keys for w, keys in ex.client.processing().items() if keys}
            if not busy:
                return
            worker = sorted(busy)[0]
            killed.update(worker=worker, pid=pids[worker], tasks=len(busy[worker]))
            os.kill(pids[worker], signal.SIGKILL)

        lost = engine.run(c, executor=ex, progress=kill_a_busy_worker)
    finally:
        ex.close()
    assert killed and killed["tasks"] >= 1  # a worker died while it held a batch
    try:
        os.kill(killed["pid"], 0)
        alive = True
    except ProcessLookupError:
        alive = False
    assert not alive
    assert _equal(reference.rows, lost.rows)
    assert [r["index"] for r in lost.rows] == list(range(12))  # each sample once
    assert lost.summary["p_failure"] == reference.summary["p_failure"]
    assert lost.summary["ci95"] == reference.summary["ci95"]
