"""NetTrain's TrainingProgressCheckpointing writes net files during training."""

from __future__ import annotations

import re

import numpy as np
import pytest

import netdsl
from netdsl.errors import NetDSLError

NET = 'net = NetChain[{LinearLayer[3], Ramp, LinearLayer[1]}, "Input" -> 2]; ' \
      'SeedRandom[1]; x = RandomReal[1, {20, 2}]; y = RandomReal[1, {20, 1}];'


def session(tmp_path):
    s = netdsl.Session()
    s.base_dir = str(tmp_path)
    s.evaluate(NET)
    return s


def train(s, opts: str):
    return s.evaluate(f"NetTrain[net, x -> y, BatchSize -> 5, TrainingProgressReporting -> None, "
                      f"{opts}]")


def test_directory_gets_one_file_per_round(tmp_path):
    s = session(tmp_path)
    trained = train(s, 'MaxTrainingRounds -> 3, TrainingProgressCheckpointing -> '
                       '{"Directory", "ck"}')
    files = sorted((tmp_path / "ck").iterdir())
    assert len(files) == 3
    # date_run_round_batch_loss.safetensors, as Wolfram names them
    pattern = r"\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d_\d+_(\d)_(\d\d)_\d\.\d\de[+-]\d\d\.safetensors"
    rounds = [re.fullmatch(pattern, f.name).groups() for f in files]
    assert rounds == [("1", "04"), ("2", "08"), ("3", "12")]
    last = netdsl.load(files[-1])
    assert last == trained                       # the last checkpoint is the trained net
    first = netdsl.load(files[0])
    assert first != trained and first.initialized


def test_file_with_batch_interval_and_validation(tmp_path):
    s = session(tmp_path)
    trained = train(s, 'MaxTrainingRounds -> 2, ValidationSet -> Scaled[0.25], '
                       'TrainingProgressCheckpointing -> {{"File", "last.safetensors", '
                       '"Interval" -> Quantity[3, "Batches"]}, {"Directory", "d", '
                       '"Interval" -> Quantity[2, "Rounds"]}}')
    assert (tmp_path / "last.safetensors").is_file()
    (f,) = (tmp_path / "d").iterdir()             # round 2 only, with the validation loss
    assert re.search(r"_2_6_[^_]+_[^_]+\.safetensors$", f.name)    # 2 rounds of 3 batches
    # 6 batches: checkpoints after batches 3 and 6, the last being the trained net
    # (validation keeps the best round, so compare with the net after round 2)
    assert netdsl.load(tmp_path / "last.safetensors").initialized
    assert isinstance(trained, netdsl.Net)


def test_time_interval(tmp_path):
    s = session(tmp_path)
    train(s, 'MaxTrainingRounds -> 2, TrainingProgressCheckpointing -> {"Directory", "t", '
             '"Interval" -> Quantity[1*^-9, "Seconds"]}')
    assert len(list((tmp_path / "t").iterdir())) >= 2


@pytest.mark.parametrize("spec,tag", [
    ('{"Folder", "x"}', "invchkspec"),
    ('"x.safetensors"', "invchkspec"),
    ('{"File", "missing/dir/x.safetensors"}', "invchkfile"),
    ('{"Directory", "missing/dir"}', "invchkdir"),
    ('{"Directory", "d", "Interval" -> 5}', "invchkint"),
    ('{"Directory", "d", "Interval" -> Quantity[1.5, "Rounds"]}', "invchkint"),
    ('{"Directory", "d", "Format" -> "wlnet"}', "invchkext"),
    ('{"Directory", "d", "Every" -> 2}', "invchkspec"),
])
def test_bad_specs(tmp_path, spec, tag):
    s = session(tmp_path)
    with pytest.raises(NetDSLError) as e:
        train(s, f"MaxTrainingRounds -> 1, TrainingProgressCheckpointing -> {spec}")
    assert e.value.tag == tag and e.value.symbol == "NetTrain"


def test_checkpoint_arrays_are_bit_exact(tmp_path):
    s = session(tmp_path)
    trained = train(s, 'MaxTrainingRounds -> 1, TrainingProgressCheckpointing -> '
                       '{"File", "one.safetensors"}')
    back = netdsl.load(tmp_path / "one.safetensors")
    for (_, a), (_, b) in zip(trained.leaves(), back.leaves()):
        for k, v in a.arrays.items():
            if isinstance(v, np.ndarray):
                assert v.tobytes() == b.arrays[k].tobytes()


def test_results_name_the_checkpoint_files_and_the_training_net(tmp_path):
    """NetTrainResultsObject's "CheckpointingFiles" (the files written) and "TrainingNet"
    (the net with its loss attached); results[{"p1", "p2"}] gives several."""
    s = session(tmp_path)
    s.evaluate('r = NetTrain[net, x -> y, All, BatchSize -> 5, TrainingProgressReporting -> '
               'None, MaxTrainingRounds -> 2, TrainingProgressCheckpointing -> '
               '{"Directory", "ck"}]')
    files = [str(p) for p in s.evaluate('r["CheckpointingFiles"]').args]
    assert sorted(files) == sorted(str(p) for p in (tmp_path / "ck").iterdir())
    assert len(files) == 2
    tnet = s.evaluate('r["TrainingNet"]')
    assert sorted(tnet.port_names()[0]) == ["Input", "Output"] and tnet.port_names()[1] == ("Loss",)
    assert list(s.evaluate('r[{"TotalRounds", "BatchSize"}]')) == [2, 5]
