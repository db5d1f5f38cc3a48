"""Running batches: in this process, or on Dask (``dask.distributed``), with the records
streamed to Parquet (pyarrow) as batches finish, so that a killed campaign resumes from its
output folder with nothing lost and nothing counted twice.

Output folder layout::

  manifest.json                   the campaign's digest, seed, method, n, batch size, and per stage
                                  its size and proposal (checked on resume)
  stage_000/batch_00000000.parquet   one file per finished batch, named by its first index

A batch file is written to a temporary name and renamed, so a file that exists is complete; on
resume the batches already on disk are read, not run again, and a batch is keyed by (stage, first
index), so no sample can be counted twice.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Callable

import pyarrow as pa
import pyarrow.parquet as pq

from safetwin.campaign.batch import run_batch

MANIFEST = "manifest.json"
FORMAT_VERSION = 1


class ResumeError(ValueError):
    """The output folder holds a different campaign: refuse rather than mix results."""


def _jsonable(d):
    return json.loads(json.dumps(d, default=str))


class Store:
    """The output folder of one campaign run."""

    def __init__(self, root: Path, header: dict):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / MANIFEST
        header = _jsonable({"format": FORMAT_VERSION, **header})
        if path.exists():
            old = json.loads(path.read_text())
            mismatched = [k for k in header if old.get(k) != header[k]]
            if mismatched:
                raise ResumeError(f"{self.root}: holds another campaign run ({', '.join(f'{k}: {old.get(k)!r} here, {header[k]!r} now' for k in mismatched)}); "
                                  "use another output folder or delete this one")
            self.manifest = old
        else:
            self.manifest = {**header, "stages": []}
            self._save()

    def _save(self) -> None:
        tmp = self.root / (MANIFEST + ".tmp")
        tmp.write_text(json.dumps(self.manifest, indent=1))
        os.replace(tmp, self.root / MANIFEST)

    def stage_meta(self, stage: int, meta: dict) -> None:
        """Records (or on resume checks) a stage's size and proposal."""
        meta = _jsonable(meta)
        stages = self.manifest["stages"]
        if stage < len(stages):
            if stages[stage] != meta:
                raise ResumeError(f"{self.root}: stage {stage} was {stages[stage]} and is now {meta}: "
                                  "the resumed run does not reproduce the first one")
            return
        stages.append(meta)
        self._save()

    def _dir(self, stage: int) -> Path:
        return self.root / f"stage_{stage:03d}"

    def done(self, stage: int) -> set:
        d = self._dir(stage)
        return {int(p.stem.split("_")[1]) for p in d.glob("batch_*.parquet")} if d.exists() else set()

    def write(self, stage: int, first: int, rows: list) -> None:
        d = self._dir(stage)
        d.mkdir(exist_ok=True)
        tmp = d / f".batch_{first:08d}.parquet.tmp"
        pq.write_table(pa.Table.from_pylist(rows), tmp)
        os.replace(tmp, d / f"batch_{first:08d}.parquet")

    def read(self, stage: int) -> list:
        rows: list = []
        for p in sorted(self._dir(stage).glob("batch_*.parquet")):
            rows += pq.read_table(p).to_pylist()
        return rows


def batches(n: int, size: int) -> list:
    return [list(range(first, min(first + size, n))) for first in range(0, n, size)]


class LocalExecutor:
    """Batches one after the other in this process (tests, --workers 0)."""

    workers = 1

    def map(self, campaign, stage: int, params: dict, todo: list) -> Iterator:
        for indices in todo:
            yield indices[0], run_batch(campaign, stage, params, indices)

    def close(self) -> None:
        pass


class DaskExecutor:
    """Batches as Dask tasks, results as they finish; a lost worker's batch is retried."""

    RETRIES = 3

    def __init__(self, scheduler: str | None = None, workers: int | None = None):
        from dask.distributed import Client, LocalCluster

        if scheduler:
            self.cluster = None
            self.client = Client(scheduler)
        else:
            n = workers or os.cpu_count() or 1
            self.cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                        dashboard_address=":0", silence_logs=40)
            self.client = Client(self.cluster)
        self.workers = len(self.client.scheduler_info()["workers"])

    def map(self, campaign, stage: int, params: dict, todo: list) -> Iterator:
        from dask.distributed import as_completed

        if not todo:
            return
        camp = self.client.scatter(campaign, broadcast=True)
        futures = {self.client.submit(run_batch, camp, stage, params, idx, pure=False, retries=self.RETRIES): idx[0]
                   for idx in todo}
        for fut in as_completed(futures):
            yield futures[fut], fut.result()

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def run_stage(executor, store: Store | None, campaign, stage: int, params: dict, n: int,
              on_batch: Callable[[list], None] | None = None, max_batches: int | None = None,
              batch_size: int | None = None) -> list:
    """All records of one stage, sorted by index: the batches on disk plus the missing ones.
    ``max_batches`` stops after that many new batches (to test resuming: a partial run);
    ``batch_size`` replaces the campaign's (subset simulation: whole chains per batch)."""
    plan = batches(n, batch_size or campaign.batch_size)
    done = store.done(stage) if store is not None else set()
    rows: list = store.read(stage) if store is not None and done else []
    if on_batch is not None and rows:
        on_batch(rows)
    todo = [b for b in plan if b[0] not in done]
    if max_batches is not None:
        todo = todo[:max_batches]
    for first, recs in executor.map(campaign, stage, params, todo):
        if store is not None:
            store.write(stage, first, recs)
        rows += recs
        if on_batch is not None:
            on_batch(recs)
    rows.sort(key=lambda r: r["index"])
    return rows


class Interrupted(RuntimeError):
    """A partial run stopped on purpose (max_batches)."""
