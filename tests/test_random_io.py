"""Random numbers (netdsl/builtins/random.py) and Import/Export (netdsl/builtins/io.py)."""

from __future__ import annotations

import io
import time
import zipfile
import zlib

import numpy as np
import pytest

from netdsl import EvaluationError, Session, input_form
from netdsl.expr import Association, Symbol
from values import exact, run


def error(src: str, symbol: str, tag: str, session: Session | None = None) -> str:
    with pytest.raises(EvaluationError) as info:
        run(src, session)
    assert (info.value.symbol, info.value.tag) == (symbol, tag), info.value.message
    return info.value.text


# ---------------------------------------------------------------- RandomReal
def test_random_real_forms():
    s = Session()
    x = run("RandomReal[]", s)
    assert isinstance(x, float) and 0 <= x < 1
    x = run("RandomReal[5]", s)
    assert isinstance(x, float) and 0 <= x < 5
    x = run("RandomReal[{-3, -2}]", s)
    assert isinstance(x, float) and -3 <= x < -2
    v = run("RandomReal[1, 1000]", s)
    assert isinstance(v, np.ndarray) and v.shape == (1000,) and v.dtype == np.float64
    assert 0 <= v.min() and v.max() < 1 and 0.4 < v.mean() < 0.6
    m = run("RandomReal[{10, 20}, {50, 40}]", s)
    assert m.shape == (50, 40) and 10 <= m.min() and m.max() < 20
    exact(run("RandomReal[1, 0]", s), [])
    assert run("Dimensions[RandomReal[1, {2, 0}]]", s).tolist() == [2, 0]


def test_seed_random_reproduces_and_matches_numpy():
    s = Session()
    a = run("SeedRandom[42]; RandomReal[{-1, 1}, {3, 4}]", s)
    b = run("SeedRandom[42]; RandomReal[{-1, 1}, {3, 4}]", s)
    assert np.array_equal(a, b)
    # the documented contract: SeedRandom[n] is numpy.random.default_rng(n), uniform on [min, max)
    assert np.allclose(a, np.random.default_rng(42).uniform(-1, 1, (3, 4)), rtol=0, atol=1e-15)
    c = run("RandomReal[{-1, 1}, {3, 4}]", s)
    assert not np.array_equal(a, c)  # the generator moves on


def test_seed_random_strings_and_fresh_seed():
    s = Session()
    a = run('SeedRandom["netdsl"]; RandomReal[]', s)
    assert a == np.random.default_rng(zlib.crc32(b"netdsl")).random()
    assert run('SeedRandom["netdsl"]; RandomReal[]', s) == a
    assert run('SeedRandom["other"]; RandomReal[]', s) != a
    assert run("SeedRandom[-5]; RandomReal[]", s) == run("SeedRandom[-5]; RandomReal[]", s)
    assert run("SeedRandom[]", s) is Symbol("Null")
    first = run("SeedRandom[]; RandomReal[]", s)
    assert first != run("SeedRandom[]; RandomReal[]", s)
    error("SeedRandom[1.5]", "SeedRandom", "argx")


def test_sessions_have_separate_generators():
    s1, s2 = Session(), Session()
    run("SeedRandom[7]", s1)
    run("SeedRandom[7]", s2)
    run("RandomReal[]", s1)  # only s1 advances
    assert run("RandomReal[]", s2) == np.random.default_rng(7).random()


def test_random_real_is_one_fast_vectorised_call():
    s = Session()
    run("1", s)  # build the parser outside the timing
    t0 = time.perf_counter()
    r = run("RandomReal[1, {10000, 784}]", s)
    assert time.perf_counter() - t0 < 1.5
    assert r.shape == (10000, 784) and r.dtype == np.float64


def test_random_sizes_are_checked_before_allocating():
    t0 = time.perf_counter()
    msg = error("RandomReal[1, {10^6, 10^6}]", "General", "tnsrmaxsz")
    assert msg.startswith("Cannot create an array of dimensions {1000000, 1000000}")
    error("RandomInteger[5, {10^7, 10^7}]", "General", "tnsrmaxsz")
    error("RandomVariate[NormalDistribution[], {10^9, 10^9}]", "General", "tnsrmaxsz")
    assert time.perf_counter() - t0 < 1.0


def test_random_real_errors():
    assert error('RandomReal["a"]', "RandomReal", "unifr") == \
        'The endpoints specified by "a" for the endpoints of the uniform distribution range ' \
        'are not real valued.'
    error("RandomReal[{1}]", "RandomReal", "unifr")
    error("RandomReal[1, -1]", "RandomReal", "argx")
    error("RandomReal[1, {2.5}]", "RandomReal", "argx")
    error("RandomReal[1, 2, 3]", "RandomReal", "argx")


# ---------------------------------------------------------------- RandomInteger
def test_random_integer():
    s = Session()
    run("SeedRandom[5]", s)
    assert run("RandomInteger[]", s) in (0, 1)
    v = run("RandomInteger[3, 2000]", s)
    assert v.dtype == np.int64 and set(v.tolist()) == {0, 1, 2, 3}  # max is inclusive
    v = run("RandomInteger[{-2, 2}, {40, 50}]", s)
    assert v.shape == (40, 50) and set(v.ravel().tolist()) == {-2, -1, 0, 1, 2}
    x = run("RandomInteger[{5, 5}]", s)
    assert x == 5 and isinstance(x, int)
    assert set(run("RandomInteger[{3, 1}, 500]", s).tolist()) == {1, 2, 3}
    assert error("RandomInteger[2.5]", "RandomInteger", "unifr") == \
        "The endpoints specified by 2.5 for the endpoints of the discrete uniform distribution " \
        "range are not integers."
    error("RandomInteger[{1, 2.5}]", "RandomInteger", "unifr")


# ---------------------------------------------------------------- RandomVariate
def test_distributions_stay_symbolic():
    assert input_form(run("NormalDistribution[0, 1]")) == "NormalDistribution[0, 1]"
    assert input_form(run("UniformDistribution[]")) == "UniformDistribution[]"
    assert input_form(run("d = NormalDistribution[]; d")) == "NormalDistribution[]"


def test_random_variate_normal():
    s = Session()
    x = run("RandomVariate[NormalDistribution[]]", s)
    assert isinstance(x, float)
    v = run("SeedRandom[11]; RandomVariate[NormalDistribution[10, 2], 20000]", s)
    assert v.shape == (20000,) and v.dtype == np.float64
    assert abs(v.mean() - 10) < 0.1 and abs(v.std(ddof=1) - 2) < 0.1
    m = run("RandomVariate[NormalDistribution[], {100, 30}]", s)
    assert m.shape == (100, 30)
    a = run("SeedRandom[3]; RandomVariate[NormalDistribution[1, 0.5], 5]", s)
    assert np.allclose(a, np.random.default_rng(3).normal(1, 0.5, 5))


def test_random_variate_uniform():
    s = Session()
    v = run("RandomVariate[UniformDistribution[{2, 3}], 5000]", s)
    assert 2 <= v.min() and v.max() <= 3 and 2.4 < v.mean() < 2.6
    x = run("RandomVariate[UniformDistribution[]]", s)
    assert isinstance(x, float) and 0 <= x <= 1


def test_random_variate_errors():
    assert error("RandomVariate[NormalDistribution[0, -1]]", "NormalDistribution", "posprm") == \
        "Parameter -1 at position 2 in NormalDistribution[0, -1] is expected to be positive."
    error("RandomVariate[NormalDistribution[0, 0]]", "NormalDistribution", "posprm")
    error("RandomVariate[NormalDistribution[m, 1]]", "NormalDistribution", "realprm")
    error("RandomVariate[UniformDistribution[{2, 1}]]", "UniformDistribution", "ordrng")
    error("RandomVariate[UniformDistribution[3]]", "UniformDistribution", "realprm")
    msg = error("RandomVariate[ZipfDistribution[1]]", "RandomVariate", "udist")
    assert msg.startswith("The specification ZipfDistribution[1] is not a random distribution "
                          "recognized by the system.")
    error("RandomVariate[5]", "RandomVariate", "udist")
    error("RandomVariate[NormalDistribution[], -2]", "RandomVariate", "argx")


# ---------------------------------------------------------------- Import
def write(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


def imp(path, session: Session | None = None):
    return run(f'Import["{path}"]', session)


def test_import_numeric_csv_is_a_packed_matrix(tmp_path):
    value = imp(write(tmp_path / "m.csv", "1,2,3\n4,5,6\n"))
    assert isinstance(value, np.ndarray) and value.dtype == np.int64
    exact(value, [[1, 2, 3], [4, 5, 6]])
    value = imp(write(tmp_path / "r.csv", "1.5,-2\n3e2,.25\n"))
    assert isinstance(value, np.ndarray) and value.dtype == np.float64
    exact(value, [[1.5, -2.0], [300.0, 0.25]])
    exact(imp(write(tmp_path / "one.csv", "7,8\n")), [[7, 8]])
    exact(imp(write(tmp_path / "col.csv", "1\n2\n\n3\n")), [[1], [2], [3]])  # blank lines skipped


def test_import_csv_with_header_and_text(tmp_path):
    value = imp(write(tmp_path / "h.csv", "a,b\n1,2.5\n3,4\n"))
    exact(value, [["a", "b"], [1, 2.5], [3, 4]])
    value = imp(write(tmp_path / "g.csv", 'x,"y, z"\n1,\nnan,inf\n'))
    exact(value, [["x", "y, z"], [1, ""], ["nan", "inf"]])  # only real numerals become numbers
    exact(imp(write(tmp_path / "ragged.csv", "1,2\n3\n")), [[1, 2], [3]])
    exact(imp(write(tmp_path / "empty.csv", "")), [])
    exact(imp(write(tmp_path / "t.tsv", "1\t2\nq\t4\n")), [[1, 2], ["q", 4]])
    (tmp_path / "crlf.csv").write_bytes(b'\xef\xbb\xbf"1",2\r\n3,4\r\n')  # BOM, quotes, CRLF
    value = imp(tmp_path / "crlf.csv")
    assert isinstance(value, np.ndarray)
    exact(value, [[1, 2], [3, 4]])
    exact(imp(write(tmp_path / "big.csv", "1,%d\n" % 2 ** 70)), [[1, 2 ** 70]])  # exact, unpacked


def test_import_npy_and_npz(tmp_path):
    a = np.arange(6, dtype=np.int32).reshape(2, 3)
    np.save(tmp_path / "a.npy", a)
    value = imp(tmp_path / "a.npy")
    assert isinstance(value, np.ndarray) and value.dtype == np.int64
    exact(value, [[0, 1, 2], [3, 4, 5]])
    np.save(tmp_path / "f.npy", np.array([0.5, 1.5], dtype=np.float32))
    assert run(f'Import["{tmp_path / "f.npy"}"]').dtype == np.float32
    np.savez(tmp_path / "z.npz", w=np.ones((2, 2)), b=np.zeros(3))
    value = imp(tmp_path / "z.npz")
    assert isinstance(value, Association) and [k for k in value.keys()] == ["w", "b"]
    exact(value.get("w"), [[1.0, 1.0], [1.0, 1.0]])
    exact(value.get("b"), [0.0, 0.0, 0.0])
    exact(run(f'Import["{tmp_path / "z.npz"}"]["b"]'), [0.0, 0.0, 0.0])
    exact(run(f'Import["{tmp_path / "a.npy"}", "Data"]'), [[0, 1, 2], [3, 4, 5]])


def _object_npy_bytes() -> bytes:
    """An .npy file declaring an object array, built by hand (no pickling involved)."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "|O", "fortran_order": False,
                                               "shape": (1,)})
    buf.write(b"\x80\x04junk that must never be unpickled.")
    return buf.getvalue()


def test_import_never_unpickles(tmp_path):
    (tmp_path / "o.npy").write_bytes(_object_npy_bytes())
    msg = error(f'Import["{tmp_path / "o.npy"}"]', "Import", "nopickle")
    assert "never unpickles" in msg
    plain = io.BytesIO()
    np.save(plain, np.ones(2))
    with zipfile.ZipFile(tmp_path / "zo.npz", "w") as z:
        z.writestr("w.npy", plain.getvalue())
        z.writestr("o.npy", _object_npy_bytes())
    msg = error(f'Import["{tmp_path / "zo.npz"}"]', "Import", "nopickle")
    assert 'the array "o"' in msg


def test_import_errors(tmp_path):
    assert error(f'Import["{tmp_path / "x.csv"}"]', "Import", "nffil") == \
        f"File {tmp_path / 'x.csv'} not found during Import."
    assert error('Import["missing-file.csv"]', "Import", "nffil") == \
        "File missing-file.csv not found during Import."
    msg = error(f'Import["{write(tmp_path / "d.xyz", "1")}"]', "Import", "fmtnosup")
    assert msg.startswith("XYZ is not a supported Import format")
    error(f'Import["{write(tmp_path / "m.csv", "1")}", "Foo"]', "Import", "noelem")
    np.save(tmp_path / "s.npy", np.array(["a", "b"]))
    error(f'Import["{tmp_path / "s.npy"}"]', "Import", "dtype")
    write(tmp_path / "bad.npy", "not numpy at all")
    assert error(f'Import["{tmp_path / "bad.npy"}"]', "Import", "fmterr") == \
        f"{tmp_path / 'bad.npy'} is not a NumPy .npy or .npz file."
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04 truncated zip")
    error(f'Import["{tmp_path / "bad.npz"}"]', "Import", "fmterr")
    (tmp_path / "short.npy").write_bytes(_object_npy_bytes()[:20])
    error(f'Import["{tmp_path / "short.npy"}"]', "Import", "fmterr")
    error("Import[5]", "Import", "argx")


def test_import_resolves_against_base_dir_then_cwd(tmp_path, monkeypatch):
    script_dir = tmp_path / "scripts"
    script_dir.mkdir()
    write(script_dir / "data.csv", "1,2\n")
    write(tmp_path / "data.csv", "9,9\n")
    write(tmp_path / "only-cwd.csv", "5\n")
    monkeypatch.chdir(tmp_path)
    s = Session()
    exact(run('Import["data.csv"]', s), [[9, 9]])  # no base_dir: the current directory
    s.base_dir = str(script_dir)
    exact(run('Import["data.csv"]', s), [[1, 2]])  # the script's folder first
    exact(run('Import["only-cwd.csv"]', s), [[5]])  # then the current directory


# ---------------------------------------------------------------- Export
def test_export_csv_round_trip(tmp_path):
    s = Session()
    name = str(tmp_path / "out.csv")
    assert run(f'Export["{name}", {{{{1, 2}}, {{3, 4}}}}]', s) == name
    assert (tmp_path / "out.csv").read_text() == "1,2\n3,4\n"
    run(f'Export["{name}", {{{{0.1, 2.5}}, {{1.*^-6, 3.}}}}]', s)
    assert (tmp_path / "out.csv").read_text() == "0.1,2.5\n1e-06,3.0\n"
    exact(run(f'Import["{name}"]', s), [[0.1, 2.5], [1e-06, 3.0]])
    run(f'Export["{name}", {{{{"a b", x}}, {{1, "c,d"}}}}]', s)
    assert (tmp_path / "out.csv").read_text() == 'a b,x\n1,"c,d"\n'
    run(f'Export["{name}", {{1, 2, 3}}]', s)
    assert (tmp_path / "out.csv").read_text() == "1\n2\n3\n"


def test_export_numpy_files(tmp_path):
    s = Session()
    run(f'Export["{tmp_path / "a.npy"}", {{{{1., 2.}}, {{3., 4.}}}}]', s)
    assert np.array_equal(np.load(tmp_path / "a.npy", allow_pickle=False), [[1.0, 2.0], [3.0, 4.0]])
    run(f'Export["{tmp_path / "z.npz"}", <|"w" -> {{1, 2}}, "b" -> {{{{1.5}}}}|>]', s)
    with np.load(tmp_path / "z.npz", allow_pickle=False) as z:
        assert z.files == ["w", "b"] and z["w"].tolist() == [1, 2] and z["b"].tolist() == [[1.5]]
    back = run(f'Import["{tmp_path / "z.npz"}"]', s)
    exact(back.get("w"), [1, 2])


def test_export_relative_names_use_base_dir(tmp_path):
    s = Session()
    s.base_dir = str(tmp_path)
    assert run('Export["rel.csv", {1}]', s) == "rel.csv"
    assert (tmp_path / "rel.csv").read_text() == "1\n"


def test_export_errors(tmp_path):
    assert error(f'Export["{tmp_path / "a.npy"}", {{a, b}}]', "Export", "type") == \
        'List cannot be exported to the "NPY" format.'
    error(f'Export["{tmp_path / "z.npz"}", <|1 -> {{1}}|>]', "Export", "type")
    error(f'Export["{tmp_path / "a.xyz"}", {{1}}]', "Export", "fmtnosup")
    error(f'Export["{tmp_path / "no" / "dir" / "a.csv"}", {{1}}]', "Export", "noopen")
    error(f'Export["{tmp_path / "c.csv"}", {{{{{{1}}}}}}]', "Export", "type")
