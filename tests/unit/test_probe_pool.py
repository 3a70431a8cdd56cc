"""The probe threads of a process: kept from batch to batch, and made afresh in a forked
child, which inherits the pool's bookkeeping but none of its threads."""

import multiprocessing
import threading

from app.engine import batch


def _probe_thread_name() -> str:
    return threading.current_thread().name


def test_batches_share_one_pool_of_the_configured_size():
    first = batch._pool(3)
    assert batch._pool(3) is first
    names = {first.submit(_probe_thread_name).result(timeout=5) for _ in range(20)}
    assert all(name.startswith("probe") for name in names)
    resized = batch._pool(4)
    assert resized is not first
    assert resized._max_workers == 4
    # The replaced pool's threads end: they would otherwise idle for the process's life.
    for thread in first._threads:
        thread.join(timeout=5)
        assert not thread.is_alive()


def _in_child(queue) -> None:
    queue.put(batch._pool(3).submit(_probe_thread_name).result(timeout=5))


def test_a_forked_child_gets_threads_of_its_own():
    parent_pool = batch._pool(3)
    # Three probes at once start all three threads: the child's copy of the pool counts
    # them as there and idle, and would start none of its own.
    together = threading.Barrier(3)
    for future in [parent_pool.submit(together.wait, 5) for _ in range(3)]:
        future.result(timeout=10)
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_in_child, args=(queue,))
    child.start()
    child.join(20)
    assert child.exitcode == 0
    assert queue.get(timeout=1).startswith("probe")
