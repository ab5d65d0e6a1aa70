import numpy as np

from bench.curves import mean_curve, time_to_reach, value_at


def test_value_at_holds_the_latest_point():
    trace = [(0.1, 10.0), (0.5, 12.0), (2.0, 15.0)]
    assert np.isnan(value_at(trace, 0.05))
    assert value_at(trace, 0.1) == 10.0
    assert value_at(trace, 1.9) == 12.0
    assert value_at(trace, 9.0) == 15.0


def test_mean_curve_starts_when_every_image_has_shown_something():
    a = [(0.1, 10.0), (1.0, 20.0)]
    b = [(0.2, 14.0), (4.0, 16.0)]
    curve = mean_curve([a, b], points=20)
    assert curve["seconds"][0] == 0.2 and abs(curve["seconds"][-1] - 4.0) < 1e-9
    assert curve["psnr_hole"][0] == 12.0 and curve["psnr_hole"][-1] == 18.0
    assert not np.isnan(curve["psnr_hole"]).any()


def test_time_to_reach_is_the_first_grid_point_at_the_value():
    curve = {"seconds": [0.1, 0.2, 0.4, 0.8], "psnr_hole": [10.0, 12.5, 12.0, 14.0]}
    assert time_to_reach(curve, 12.0) == 0.2
    assert time_to_reach(curve, 9.0) == 0.1
    assert time_to_reach(curve, 13.0) == 0.8
    assert time_to_reach(curve, 14.5) is None
