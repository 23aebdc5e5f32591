import pytest

from animerec.devkit.fixtures import hold_redis_db


def test_concurrent_test_sessions_hold_different_redis_databases(tmp_path):
    first, lock1 = hold_redis_db(0, tmp_path)
    second, lock2 = hold_redis_db(0, tmp_path)  # same start, as two sessions with colliding pids would have
    assert first == 1 and second == 2
    held = [hold_redis_db(0, tmp_path) for _ in range(13)]
    with pytest.raises(RuntimeError, match="all 15"):
        hold_redis_db(0, tmp_path)
    lock1.close()  # a finished (or killed) session frees its database
    assert hold_redis_db(0, tmp_path)[0] == 1
    for _, lock in [*held, (second, lock2)]:
        lock.close()
