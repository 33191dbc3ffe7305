"""The Lever note's numbers (plugins/lever/writeback.py): the score, its percent and the pass line
must not contradict each other, and no finite score may stop the note from being written (found
by a review; each test failed before its fix)."""

from __future__ import annotations

import pytest

from plugins.lever import writeback


@pytest.mark.parametrize("score, max_score", [(79.996, 100), (39.998, 50), (7.9996, 10)])
def test_the_score_is_not_rounded_up_to_the_threshold_the_percent_and_the_pass_line_say_it_missed(score, max_score):
    """The percent is now cut ("79.9%", never "80%" beside "Below the pass threshold (80%)"), but
    the score beside it is still rounded to two decimals: 39.998 / 50 reads "Score: 40 / 50 (79.9%)"
    and "Below the pass threshold (80%)", the contradiction the change set out to remove."""
    line = writeback.score_line(score, max_score, "Canditech")
    assert writeback.pass_line(score, max_score, 80) == "Below the pass threshold (80%)"
    shown = line.split("Score: ", 1)[1].split(" /", 1)[0]
    assert float(shown) < score or float(shown) == score, line  # never more than the score


@pytest.mark.parametrize("score, max_score", [(1e307, 1e308), (5e306, 1e307)])
def test_a_huge_score_within_its_scale_is_written_not_an_overflow(score, max_score):
    """``AssessmentResult`` takes any finite score and maximum above 0. ``_percent`` computes
    ``100 * score`` first, which overflows to infinity for a score above ~1.8e306, and
    ``math.floor(inf)`` raises OverflowError: the result note is never written (the delivery fails
    at each attempt until dead). ``score / max_score * 100`` cannot overflow within the scale."""
    line = writeback.score_line(score, max_score, "Canditech")
    assert line.endswith("%)"), line
    assert writeback.pass_line(score, max_score, 80) is not None


@pytest.mark.parametrize("score, max_score, threshold, words", [(29, 100, 29, "Passed"), (0.29, 1, 29, "Passed"),
                                                                (28.99, 100, 29, "Below")])
def test_a_score_at_the_threshold_passes_despite_float_noise(score, max_score, threshold, words):
    assert writeback.pass_line(score, max_score, threshold) == f"{words} the pass threshold ({threshold}%)"
