import pytest

from dynonet.report import epoch_line, epoch_report, result_block


def entry(epoch, stage, best=True):
    return {"epoch": epoch, "stage": stage, "train_loss": 0.5, "val_mse": 0.4, "val_mae": 0.3, "lr": 1e-3,
            "seconds": 1.0, "best": best, "signals": {}}


def test_stage_titles_only_where_a_trend_first_runs_stages_begin():
    lines = []
    report = epoch_report(lines.append)
    for e in (entry(1, "trend"), entry(2, "trend"), entry(3, "full"), entry(4, "full", best=False)):
        report(e)
    assert [ln for ln in lines if ln.startswith("stage")] == [
        "stage 1 of 2: the trend path alone", "stage 2 of 2: the whole model, from the trend path's best epoch"]
    assert lines[1] == epoch_line(entry(1, "trend")) and lines[1].startswith("epoch   1  trend  train mse 0.5000")
    assert lines[-1].endswith("1.0s")  # no star: not a new best
    joint = []
    report = epoch_report(joint.append)
    for e in (entry(1, "full"), entry(2, "full")):
        report(e)
    assert joint == [epoch_line(entry(1, "full")), epoch_line(entry(2, "full"))]  # one stage: no titles


@pytest.mark.parametrize("loss", ["mse", "mae", "huber"])
def test_each_epoch_line_names_the_loss_its_training_figure_is(loss):
    lines = []
    report = epoch_report(lines.append, titles=False, loss=loss)
    report({**entry(0, "trend"), "lr": None, "penalty": 0.1, "fit": "ridge"})  # the closed-form fit: least squares
    report(entry(1, "full"))
    assert lines[0].startswith("epoch   0  trend  train mse 0.5000  val mse 0.4000")
    assert lines[1].startswith(f"epoch   1  train {loss} 0.5000  val mse 0.4000")


def test_result_block_says_the_scale_and_lists_each_channel():
    text = result_block("DynoNet_H96", {"mse": 0.38, "mae": 0.41, "per_channel": {"OT": {"mse": 0.1, "mae": 0.2}}})
    assert "MSE: 0.3800\nMAE: 0.4100\n(each series standardized by its training rows' mean and std" in text
    assert ["OT", "0.1000", "0.2000"] in [line.split() for line in text.splitlines()]


def test_large_scores_stay_in_their_columns():
    text = result_block("x", {"mse": 6.9e14, "mae": 2.3e7,
                              "per_channel": {"store_1": {"mse": 694337566408704.0, "mae": 23249408.0},
                                              "a_much_longer_series_name": {"mse": 0.5, "mae": 0.25}}})
    lines = text.splitlines()
    assert "MSE: 6.9000e+14" in lines
    assert ["store_1", "6.9434e+14", "2.3249e+07"] in [line.split() for line in lines]
    table = [line for line in lines if line.startswith(("channel", "store_1", "a_much"))]
    assert len({len(line) for line in table}) == 1  # right-aligned columns of one width


def test_the_channel_table_gives_each_series_share_inside_each_interval():
    scores = {"mse": 0.38, "mae": 0.41, "per_channel": {"OT": {"mse": 0.1, "mae": 0.2}, "flat": {"mse": 0.0, "mae": 0.0}},
              "intervals": {"80": {"coverage": 0.9, "per_channel": {"OT": 0.8, "flat": 1.0}},
                            "95": {"coverage": 0.97, "per_channel": {"OT": 0.94, "flat": 1.0}}}}
    rows = [line.split() for line in result_block("x", scores).splitlines()]
    assert ["channel", "MSE", "MAE", "in", "80%", "in", "95%"] in rows
    assert ["OT", "0.1000", "0.2000", "0.800", "0.940"] in rows and ["flat", "0.0000", "0.0000", "1.000", "1.000"] in rows


@pytest.mark.parametrize("naive, says", [
    ({"mse": 0.9, "mae": 0.8}, ""),  # the model lower everywhere: nothing to say
    ({"mse": 0.3, "mae": 0.8}, " (lower than this model's MSE)"),
    ({"mse": 0.3, "mae": 0.3}, " (lower than this model's MSE and MAE)"),
    ({"mse": 0.9, "mae": 0.8, "per_channel": {"a": {"mse": 0.1}, "b": {"mse": 0.9}}},
     " (lower than this model's MSE on series 'a')"),  # a pooled score can hide a series
])
def test_the_naive_forecast_line_says_where_the_naive_forecast_scores_lower(naive, says):
    scores = {"mse": 0.5, "mae": 0.5, "per_channel": {"a": {"mse": 0.2, "mae": 0.3}, "b": {"mse": 0.8, "mae": 0.7}},
              "naive": naive}
    line = next(x for x in result_block("x", scores).splitlines() if x.startswith("naive forecast"))
    assert line == (f"naive forecast (each series' last value repeated), same test windows: MSE {naive['mse']:.4f}, "
                    f"MAE {naive['mae']:.4f}{says}")
