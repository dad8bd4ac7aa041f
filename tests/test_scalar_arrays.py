"""Arrays of rank 0: NormalizationLayer[All] has "Scaling" and "Biases" of dimensions {}
(no level is left for them). NetInitialize, NetReplacePart, net files and ONNX keep
them of rank 0, so a net accepts its own arrays and its files load again."""

from __future__ import annotations

import numpy as np
import pytest

from netdsl import Session


@pytest.fixture
def session():
    s = Session()
    s.evaluate('n = NetInitialize[NormalizationLayer[All, "Input" -> {3, 4}]]; '
               'x = RandomReal[1, {3, 4}];')
    return s


def test_initialized_arrays_have_the_declared_dimensions(session):
    assert session.evaluate('Dimensions[NetExtract[n, "Scaling"]]').args == ()
    assert session.evaluate('Dimensions[NetExtract[n, "Biases"]]').args == ()


def test_net_replace_part_takes_the_layers_own_array(session):
    out = session.evaluate('m = NetReplacePart[n, "Scaling" -> 2 NetExtract[n, "Scaling"]]; '
                           'm[x]')
    x = np.asarray(session.evaluate("x"), np.float64)
    expected = 2 * (x - x.mean()) / np.sqrt(x.var() + 0.001)
    np.testing.assert_allclose(np.asarray(out), expected, rtol=1e-4, atol=1e-5)


def test_safetensors_round_trip(session, tmp_path):
    path = (tmp_path / "norm.safetensors").as_posix()
    session.evaluate(f'Export["{path}", n]; m = Import["{path}"];')
    assert session.evaluate('Dimensions[NetExtract[m, "Scaling"]]').args == ()
    np.testing.assert_array_equal(np.asarray(session.evaluate("m[x]")),
                                  np.asarray(session.evaluate("n[x]")))
