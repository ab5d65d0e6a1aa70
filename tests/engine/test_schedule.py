import numpy as np
import pytest

from app.engine.schedule import Chunker, EarlyStopper, SearchCost, halving_steps, stretches, survivors


def test_halving_keeps_the_best_candidates():
    losses = np.array([5.0, 0.5, 9.0, 1.5, 0.1, 7.0, 3.0, 2.0])
    assert list(survivors(losses, 4)) == [4, 1, 3, 7]
    assert list(survivors(losses, 1)) == [4]
    assert list(survivors(losses, 100)) == list(np.argsort(losses))
    assert list(survivors([1.0, 1.0, 0.0], 2)) == [2, 0], "ties keep the earlier candidate"


def test_halving_schedule():
    assert halving_steps(400, 16, 2) == [100, 200, 300]           # 16 -> 8 -> 4 -> 2
    assert halving_steps(300, 64, 4) == [60, 120, 180, 240]       # 64 -> 32 -> 16 -> 8 -> 4
    assert halving_steps(300, 3, 4) == []


def test_early_stopping_triggers_on_a_flat_loss():
    stop = EarlyStopper(patience=50, tolerance=1e-3)
    fired = [s for s in range(0, 400, 10) if stop.update(s, 10.0)]
    assert fired and fired[0] == 50


def test_early_stopping_waits_while_the_loss_falls():
    stop = EarlyStopper(patience=50, tolerance=1e-3)
    assert not any(stop.update(s, 100.0 * 0.99 ** s) for s in range(0, 1000, 10))


def test_early_stopping_uses_the_best_loss_so_far():
    stop = EarlyStopper(patience=50, tolerance=1e-3)
    noisy = [10.0 - 0.5 * (s // 10) if s < 100 else 5.0 + (s % 20) for s in range(0, 300, 10)]
    fired = [s for s, v in zip(range(0, 300, 10), noisy) if stop.update(s, v)]
    assert fired and 140 <= fired[0] <= 160


def test_early_stopping_is_asked_on_a_fixed_grid_of_steps():
    # every patience // 4 steps, whatever the chunks were: the search's chunks end there
    stop = EarlyStopper(patience=20)
    assert [s for s in range(0, 21) if stop.checks_at(s)] == [5, 10, 15, 20]
    assert stop.next_check(0) == 5 and stop.next_check(7) == 10 and stop.next_check(10) == 15
    assert EarlyStopper(patience=2).next_check(3) == 4, "at least every step"


def test_chunks_are_sized_for_the_report_interval():
    chunks = Chunker(report_seconds=0.15)
    assert chunks.next(0, 0.01, remaining=1000) == 4, "after the step-0 report: at most 4"
    assert chunks.next(4, 0.04, remaining=1000) == 15, "4 steps took 0.04 s: 15 make 0.15 s"
    assert chunks.next(15, 0.015, remaining=1000) == 60, "at most 4x the last plan"
    assert chunks.next(60, 60.0, remaining=1000) == 1, "at least one step"
    assert Chunker(0.15).next(0, 0.01, remaining=3) == 3, "never past the end"


def test_a_chunk_cut_at_a_boundary_does_not_shrink_the_next_plan():
    chunks = Chunker(report_seconds=0.15)
    chunks.next(0, 0.01, remaining=1000)
    assert chunks.next(4, 0.04, remaining=1000, to_boundary=5) == 5, "never past the next boundary"
    # the 5-step chunk took 0.05 s: the plan is 15 (not 4x the 5 steps run), cut at the boundary again
    assert chunks.next(5, 0.05, remaining=1000, to_boundary=5) == 5 and chunks.planned == 15
    assert chunks.next(5, 0.05, remaining=1000) == 15


def test_a_chunk_cut_short_reports_only_when_a_report_is_due():
    chunks = Chunker(report_seconds=0.2)
    chunks.next(0, 0.01, remaining=1000)
    assert chunks.report_due(now=0.0), "the first chunk reports"
    chunks.reported(0.0)
    chunks.next(4, 0.04, remaining=1000)
    assert not chunks.cut and chunks.report_due(now=0.01), "a chunk of the planned length always reports"
    chunks.reported(0.01)
    chunks.next(20, 0.2, remaining=1000, to_boundary=2)
    assert chunks.cut
    assert not chunks.report_due(now=0.05), "cut at a boundary soon after a report: no extra frame"
    assert chunks.report_due(now=0.12), "half an interval on, the cut chunk reports"


def test_a_search_runs_in_stretches_between_halvings():
    assert stretches(60, 16, None) == [(60, 16)], "no halving: every candidate every step"
    assert stretches(60, 16, 2) == [(15, 16), (15, 8), (15, 4), (15, 2)], "16 -> 8 -> 4 -> 2 at steps 15, 30, 45"
    assert stretches(60, 1, 2) == [(60, 1)], "nothing to halve"
    # a short search halves three times before its first step and three times after it
    assert halving_steps(2, 64, 1) == [0, 0, 0, 1, 1, 1] and stretches(2, 64, 1) == [(1, 8), (1, 1)]


def test_the_search_cost_has_a_fixed_part_and_a_part_per_candidate():
    cost = SearchCost.fit((2, 0.020), (16, 0.104))   # 8 ms + 6 ms a candidate
    assert cost.fixed == pytest.approx(0.008) and cost.per_candidate == pytest.approx(0.006)
    # the default fast path: 15 steps each at 16, 8, 4, 2 candidates, then 25 second-stage steps
    expected = 15 * (4 * 0.008 + 30 * 0.006) + 25 * (0.008 + 0.006)
    assert cost.seconds(60, 16, 2, single_steps=25) == pytest.approx(expected)
    assert cost.seconds(60, 2) > cost.seconds(60, 16) / 8, "a step of few candidates costs more than their share"
    assert SearchCost.fit((2, 0.02), (16, 0.01)).per_candidate > 0, "noise never makes candidates free"
