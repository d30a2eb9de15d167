"""dynonet.keywords: settings as the Python API takes and names them."""

from __future__ import annotations

import pytest

from dynonet.config import PRESETS
from dynonet.errors import ConfigError
from dynonet.keywords import arguments, named, settings_of


@pytest.mark.parametrize("text, as_keywords", [
    # a flag's value reads as a keyword argument's; a switch as True or False
    ("--batch-size 32, --loss mae, --no-mixer", 'batch_size=32, loss="mae", mixer=False'),
    ("--date-format %s), --sep ';' --lr 1e-3.", "date_format='%s'), sep=';' lr=1e-3."),
    ("(--controller turns it on)", "(controller=True turns it on)"),
    # a word that is no value of the flag stays as written, as does a flag of no setting
    ("--epochs must be", "epochs must be"),
    ("--lr-decay each", "lr_decay each"),
    ("--no-plot, --plot draws", "--no-plot, --plot draws"),
    # a command quoted whole stays one to type
    ("run `dynonet train --batch-size 8`", "run `dynonet train --batch-size 8`"),
])
def test_flags_read_as_keyword_arguments(text, as_keywords):
    assert named(text) == as_keywords


def test_settings_start_from_the_quickstart_preset_without_a_test_split():
    settings = settings_of(12, 48, "linear", 3, 7, "cpu", {"patience": 2, "columns": "a, b"})
    base = PRESETS["quickstart"]
    assert (settings.model.horizon, settings.model.lookback, settings.model.model) == (12, 48, "linear")
    assert (settings.train.epochs, settings.train.seed, settings.train.patience) == (3, 7, 2)
    assert settings.data.test_fraction == 0 and settings.data.columns == ("a", "b")
    assert settings.train.lr == base.train.lr
    # and back: the arguments that make them
    assert arguments(settings) == {"horizon": 12, "lookback": 48, "model": "linear", "epochs": 3, "patience": 2,
                                   "seed": 7, "device": "cpu", "columns": ("a", "b")}


@pytest.mark.parametrize("overrides, message", [
    ({"h": 12}, "no setting 'h' here: horizon=12 sets the steps to forecast"),
    ({"random_state": 3}, "no setting 'random_state' here: seed=3 seeds everything the fit draws"),
    ({"season_length": 7}, "no setting 'season_length' here: season=7 sets the steps in one seasonal cycle (of the "
                           "seasonal naive forecast)"),
    ({"out": "run/"}, "no setting 'out' here: save(path) writes the run folder"),
    ({"patiense": 3}, "unknown setting 'patiense'; did you mean 'patience'?"),
    ({"zzz": 1}, "unknown setting 'zzz' (every setting: `dynonet train --help`, as keywords without the dashes)"),
    ({"n_channels": 3}, "no setting 'n_channels' here: the data given to fit sets how many series there are"),
    ({"batch_size": 0}, "batch_size must be a positive integer (got 0)"),
])
def test_settings_other_apis_name_otherwise_are_told_this_ones(overrides, message):
    with pytest.raises(ConfigError) as e:
        settings_of(24, 96, "dynonet", None, 0, "auto", overrides)
    assert str(e.value) == message
