"""How one batch's budget is shared out over the partitions with a backlog."""

from kafka import TopicPartition

from animerec.landing.writer import shares


def tps(*backlogs):
    return {TopicPartition("t", i): n for i, n in enumerate(backlogs)}


def test_a_backlog_that_fits_is_taken_whole():
    backlog = tps(8400, 8577, 7808, 8000, 8200, 9015)
    assert shares(backlog, 50_000) == backlog


def test_short_backlogs_leave_their_share_to_the_others():
    take = shares(tps(10, 100_000, 50), 20_000)
    assert take == {TopicPartition("t", 0): 10, TopicPartition("t", 1): 19_940, TopicPartition("t", 2): 50}


def test_the_budget_is_shared_evenly_and_never_exceeded():
    take = shares(tps(9000, 9000, 9000), 20_000)
    assert sorted(take.values()) == [6666, 6667, 6667] and sum(take.values()) == 20_000


def test_every_partition_gets_at_least_one_message():
    assert set(shares(tps(10, 100_000, 5), 2).values()) == {1}
