"""training.d_view: D's logit on training faces, held-out faces and samples, through the run's policy."""
from tests.conftest import DATA_DIR, needs_shared_data
from training import d_view, train


@needs_shared_data
def test_d_view_reads_every_group_as_it_is_and_through_the_runs_policy(tmp_path, capsys):
    out = tmp_path / "run"
    assert train.main(["--dataset", "faces", "--data-dir", DATA_DIR, "--batch", "4", "--steps", "2", "--quiet",
                       "--g-start-filters", "8", "--g-filters", "8,8,8", "--d-filters", "8,8,8",
                       "--diffaugment", "translation,cutout", "--out", str(out)]) == 0
    step, views = d_view.d_view(str(out), count=8, data_dir=DATA_DIR)
    assert step == 2
    assert set(views) == {(view, group) for view in ("as they are", "translation,cutout")
                          for group in ("train", "held_out", "samples")}
    for sign, mean in views.values():
        assert -1.0 <= sign <= 1.0 and abs(mean) < 1e3
    assert views[("as they are", "train")] != views[("translation,cutout", "train")], "the policy changes what D sees"
    assert d_view.main([str(out), "--count", "8", "--data-dir", DATA_DIR]) == 0
    assert "| translation,cutout |" in capsys.readouterr().out
