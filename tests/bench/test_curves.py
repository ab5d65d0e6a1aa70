import numpy as np

from bench.curves import mean_curve, value_at


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
