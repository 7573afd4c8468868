"""Work split over forked processes, each result sent back the moment it is ready.

Parsing and scoring hold the GIL (feedparser, BeautifulSoup and VADER are pure Python), and so
does much of an HTTP client's own work: threads alone leave all but one core idle. `stream` forks
one process per shard. In each, threads do the waiting part of every job (a fetch) and the
process's own thread does the rest (parsing, scoring) one job at a time, as the waits finish:
CPU-bound work on several threads would only take turns at the GIL, and hold more in memory.
Each result goes down the process's pipe as soon as it is ready; the parent takes them in
batches, so it can save one batch while the processes go on.

A job whose result never arrives (its process died: a parser crashed on a hostile body, the OOM
killer; or the result could not be pickled) comes back as `Lost`, never silently dropped.
"""

from __future__ import annotations

import itertools
import multiprocessing as mp
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any


@dataclass(frozen=True)
class Lost:
    """A job whose result did not come back, and why."""

    job: Any
    reason: str


def can_fork() -> bool:
    return "fork" in mp.get_all_start_methods()


# Called in each process after the fork. Returns `wait(job)`, the part of a job run on threads;
# `finish(job, waited)`, the rest, run on the process's own thread; and what to close when the
# shard is done (a connection pool, say: it must be made after the fork).
WorkerFactory = Callable[[], tuple[Callable[[Any], Any], Callable[[Any, Any], Any], Callable[[], None]]]


def stream(shards: Sequence[Sequence[Any]], make_worker: WorkerFactory, *, threads: int,
           every: float) -> Iterator[list[Any]]:
    """Run every job of every shard, a process per shard; yield the results (or `Lost`) in batches,
    one batch at most every `every` seconds, in the order they finish. Needs the fork start method:
    the workers inherit the caller's state (a config, compiled lexicons) instead of unpickling it.

    Fork before starting threads of your own: a thread holding a lock at the fork leaves it held
    for ever in the child.
    """
    ctx = mp.get_context("fork")
    readers: dict[Connection, int] = {}
    processes = []
    for index, shard in enumerate(shards):
        if not shard:
            continue
        reader, writer = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_run_shard, args=(shard, make_worker, threads, writer),
                           name=f"monitor-worker-{index}", daemon=True)
        proc.start()
        writer.close()  # the child holds the only writer: its exit ends the pipe
        readers[reader] = index
        processes.append((index, proc))
    pending = {i: set(range(len(shard))) for i, shard in enumerate(shards)}
    try:
        while readers:
            batch, until = [], time.monotonic() + every
            while readers and (remaining := until - time.monotonic()) > 0:
                for reader in wait(list(readers), remaining):
                    _drain(reader, readers, pending, shards, batch)
            if batch:
                yield batch
        for index, proc in processes:
            proc.join()
            if pending[index]:
                reason = (f"a worker process died (exit code {proc.exitcode}); the body of one of its "
                          "sources may have crashed a parser")
                yield [Lost(shards[index][j], reason) for j in sorted(pending[index])]
    finally:
        for reader in readers:
            reader.close()
        for _, proc in processes:  # a consumer that stops early (an error while saving) ends them
            if proc.is_alive():
                proc.terminate()
            proc.join()


def _drain(reader: Connection, readers: dict, pending: dict, shards, batch: list) -> None:
    """Take every result waiting in one pipe; at its end, forget the pipe."""
    index = readers[reader]
    try:
        while reader.poll():
            j, ok, result = reader.recv()
            pending[index].discard(j)
            batch.append(result if ok else Lost(shards[index][j], result))
    except (EOFError, OSError):
        del readers[reader]
        reader.close()


def _run_shard(shard: Sequence[Any], make_worker: WorkerFactory, threads: int, writer: Connection) -> None:
    """In the child: each job's wait on `threads` threads, then its finish here, sent as it is ready."""
    # The parent decides when to stop: Ctrl-C or a reload signal to the process group is its to
    # handle, and its terminate() must end this process even where it installed its own handlers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    wait_part, finish, close = make_worker()
    queue = iter(enumerate(shard))
    running: dict = {}
    try:
        with ThreadPoolExecutor(max_workers=threads) as pool:

            def top_up() -> None:  # fetch ahead of the parsing by at most 2 x threads (bounded memory)
                for j, job in itertools.islice(queue, 2 * threads - len(running)):
                    running[pool.submit(wait_part, job)] = j

            top_up()
            while running:
                done, _ = futures_wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    j = running.pop(future)
                    _send(writer, j, finish, shard[j], future)
                    top_up()
    finally:
        close()
        writer.close()


def _send(writer: Connection, j: int, finish: Callable[[Any, Any], Any], job: Any, waited: Future) -> None:
    """Finish job j and send its result; what goes wrong with one job is sent back as its loss."""
    try:
        message = (j, True, finish(job, waited.result()))
    except Exception as e:  # a bug, not bad input (the work reports that itself): this job only
        message = (j, False, f"{e.__class__.__name__}: {e}")
    try:
        writer.send(message)
    except Exception as e:  # pickling failed before anything was written
        writer.send((j, False, f"its result could not be sent back: {e.__class__.__name__}: {e}"))
