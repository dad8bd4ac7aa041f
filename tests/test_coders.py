"""NetEncoder and NetDecoder: construction, Wolfram's defaults, ports, evaluation with
labels and decoder properties, printing, NetTrain and NetMeasurements with labels."""

from __future__ import annotations

import io

import numpy as np
import pytest

from netdsl import EvaluationError, Session, input_form
from netdsl.errors import NetDSLError
from netdsl.check import check_text
from netdsl.expr import Association, Expr, Symbol
from netdsl.layers.coders import NetDecoder, NetEncoder, _lookup

from values import py
from cli_runner import EXAMPLES, run_netdsl



def session() -> Session:
    return Session(stdout=io.StringIO())


def run(text: str, s: Session | None = None):
    return (s or session()).evaluate(text)


def fails(text: str, *parts: str) -> str:
    with pytest.raises(NetDSLError) as e:
        run(text)
    msg = str(e.value)
    for p in parts:
        assert p in msg, msg
    return msg


def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# ---------------------------------------------------------------- encoders
def test_class_encoder_gives_indices_and_names_unknown_labels():
    assert py(run('NetEncoder[{"Class", {"a", "b", "c"}}][{"c", "a", "b"}]')) == [3, 1, 2]
    assert run('NetEncoder[{"Class", {"a", "b", "c"}}]["b"]') == 2
    fails('NetEncoder[{"Class", {"a", "b"}}]["z"]', '"z" is not one of {"a", "b"}')


def test_class_encoder_unit_vector():
    got = py(run('NetEncoder[{"Class", {"a", "b", "c"}, "UnitVector"}][{"c", "a"}]'))
    assert got == [[0, 0, 1], [1, 0, 0]]


def test_class_encoder_with_integer_and_symbol_labels():
    assert py(run('NetEncoder[{"Class", {10, 20, 30}}][{30, 10}]')) == [3, 1]
    assert py(run('NetEncoder[{"Class", {True, False}}][{False, True}]')) == [2, 1]


def test_boolean_and_scalar_encoders():
    assert py(run('NetEncoder["Boolean"][{True, False, True}]')) == [1, 0, 1]
    fails('NetEncoder["Boolean"][{True, 3}]', "3 is not True or False")
    assert py(run('NetEncoder["Scalar"][{1, 2.5}]')) == [1.0, 2.5]


@pytest.mark.parametrize("coder, data, words", [
    ('{"Characters", "abc"}', "True", "True is not a string"),
    ('{"Characters", "abc"}', "x", "x is not a string"),
    ('{"Tokens", {"a", "b"}}', "None", "None is not a string"),
    ('"Scalar"', "True", "True is not a number"),
    ('"Boolean"', "x", "x is not True or False"),
])
def test_a_symbol_given_to_an_encoder_is_named(coder, data, words):
    """Found by fuzzing: a symbol was taken for a batch and raised a raw TypeError."""
    fails(f'NetChain[{{ElementwiseLayer[Tanh]}}, "Input" -> NetEncoder[{coder}]][{data}]',
          "netinvin", words)
    fails(f"NetEncoder[{coder}][{data}]", words)

def test_tokens_encoder_defaults_ignore_case_and_unknown_is_count():
    # Wolfram: "IgnoreCase" -> True, an unknown token gets n + 1, padding uses n + 1 too
    enc = run('NetEncoder[{"Tokens", {"the", "cat", "sat"}, "TargetLength" -> 5}]')
    assert enc.ignore_case and enc.count == 4
    assert py(run('e["The DOG sat"]', _with(enc))) == [1, 4, 3, 4, 4]
    cased = run('NetEncoder[{"Tokens", {"The", "cat"}, "IgnoreCase" -> False, '
                '"TargetLength" -> 2}]["the cat"]')
    assert py(cased) == [3, 2]


def test_tokens_split_words_and_punctuation():
    got = run('NetEncoder[{"Tokens", {"hi", ",", "you"}, "TargetLength" -> 4}]["Hi, you!"]')
    assert py(got) == [1, 2, 3, 4]


def test_characters_encoder_defaults_case_sensitive_unknown_fails():
    got = run('NetEncoder[{"Characters", "abc", "TargetLength" -> 4}][{"ab", "cabca"}]')
    assert py(got) == [[1, 2, 3, 3], [3, 1, 2, 3]]     # padded with the count, chopped at 4
    fails('NetEncoder[{"Characters", "abc", "TargetLength" -> 4}]["aB"]',
          'the character "B"')
    got = run('NetEncoder[{"Characters", "abc", "IgnoreCase" -> True, "TargetLength" -> 2}]'
              '["CA"]')
    assert py(got) == [3, 1]


def test_image_encoder_is_out_of_scope_with_a_clear_message():
    fails('NetEncoder["Image"]', 'NetEncoder["Image"] is not supported by netdsl')
    fails('NetEncoder[{"Image", {28, 28}}]', 'is not supported by netdsl')
    fails('NetEncoder["Bogus"]', '"Bogus" is not a known encoder')
    fails('NetEncoder[{"Class", {"a", "a"}}]', "distinct")
    fails('NetEncoder[{"Tokens", {"a"}, "Foo" -> 1}]', "is not an option")


@pytest.mark.parametrize("spec", [
    'NetEncoder[{"Class", {"a", "b"}}]', 'NetEncoder["Class"]', 'NetEncoder["Boolean"]',
    'NetEncoder["Scalar"]', 'NetEncoder[{"Class", {1, 2, 3}, "UnitVector"}]',
    'NetEncoder[{"Characters", "abc", "TargetLength" -> 3}]',
    'NetEncoder[{"Tokens", {"a", "b"}, "IgnoreCase" -> False, "TargetLength" -> 7}]',
    'NetDecoder[{"Class", {"x", "y"}}]', 'NetDecoder["Class"]', 'NetDecoder["Boolean"]',
])
def test_coders_print_in_input_form_that_builds_them_back(spec):
    value = run(spec)
    text = input_form(value)
    assert text == spec
    assert run(text) == value


def test_vectorised_lookup_matches_a_dictionary():
    rng = np.random.default_rng(0)
    labels = tuple(f"w{i}" for i in rng.permutation(50))
    keys = [f"w{i}" for i in rng.integers(0, 60, 500)]   # some unknown (50..59)
    index = {k: i for i, k in enumerate(labels, 1)}
    assert _lookup(labels, index, keys).tolist() == [index.get(k, 0) for k in keys]


# ---------------------------------------------------------------- ports and shapes
CHAIN = ('NetChain[{EmbeddingLayer[4], FlattenLayer[], LinearLayer[3], SoftmaxLayer[]}, '
         '"Input" -> NetEncoder[{"Class", {"a", "b", "c", "d", "e"}}], '
         '"Output" -> NetDecoder[{"Class", {"x", "y", "z"}}]]')


def test_class_encoder_gives_an_index_port_and_decoder_a_vector_port():
    net = run(CHAIN)
    t_in, t_out = net.ports["Input"], net.ports["Output"]
    assert (t_in.shape, t_in.integer, t_in.classes) == ((), True, 5)
    assert isinstance(t_in.coder, NetEncoder) and isinstance(t_out.coder, NetDecoder)
    assert t_out.shape == (3,)
    # the embedding learned its class count from the encoder
    assert net.net("1").array_shapes()["Weights"] == (5, 4)
    assert "class (5 labels): index in 1..5" in str(net)
    assert "class (3 labels): vector of size 3" in str(net)


def test_coders_stay_on_the_ports_they_were_given():
    net = run(CHAIN)
    for name in net.order:
        layer = net.net(name)
        assert all(t.coder is None for t in layer.ports.values()), name
    assert "NetDecoder" not in input_form(run(f"NetExtract[{CHAIN}, 4]"))


def test_decoder_size_clash_is_a_shape_error():
    fails('NetChain[{LinearLayer[2]}, "Output" -> NetDecoder[{"Class", {"x", "y", "z"}}]]',
          "inconsistent", "class (3 labels): vector of size 3")


def test_netdsl_check_reports_the_decoder_clash_and_accepts_a_good_net():
    bad = ('net = NetChain[{EmbeddingLayer[4], LinearLayer[2]}, '
           '"Input" -> NetEncoder[{"Class", {"a", "b"}}], '
           '"Output" -> NetDecoder[{"Class", {"x", "y", "z"}}]]\n')
    code, out, err = _check(bad)
    assert code != 0 and "vector of size 3" in out + err
    code, out, err = _check(f"net = {CHAIN}\n")
    assert code == 0, out + err


def test_input_form_of_a_net_with_coders_builds_the_same_net():
    net = run(f"NetInitialize[{CHAIN}, RandomSeeding -> 3]")
    text = input_form(net)
    assert '"Input" -> NetEncoder[{"Class", {"a", "b", "c", "d", "e"}}]' in text
    assert '"Output" -> NetDecoder[{"Class", {"x", "y", "z"}}]' in text
    again = run(text)
    assert again == net and input_form(again) == text


# ---------------------------------------------------------------- evaluation
def test_net_gives_labels_and_properties_agree_with_the_raw_probabilities():
    s = session()
    net = run(f"NetInitialize[{CHAIN}, RandomSeeding -> 5]", s)
    w = net.net("1").arrays["Weights"].astype(np.float64)       # 5 x 4
    lin = net.net("3")
    W, b = lin.arrays["Weights"].astype(np.float64), lin.arrays["Biases"].astype(np.float64)
    probs = softmax(w @ W.T + b)                                 # row i: label i
    labels = ["x", "y", "z"]
    s.evaluate(f"net = {input_form(net)}")
    for i, lab in enumerate("abcde"):
        assert run(f'net["{lab}"]', s) == labels[int(np.argmax(probs[i]))]
        assert run(f'net["{lab}", "Decision"]', s) == labels[int(np.argmax(probs[i]))]
        got = run(f'net["{lab}", "Probabilities"]', s)
        assert isinstance(got, Association)
        assert list(got.keys()) == labels
        np.testing.assert_allclose([got.get(k) for k in labels], probs[i], rtol=1e-5)
        assert run(f'net["{lab}", {{"Probabilities", "y"}}]', s) == pytest.approx(probs[i, 1],
                                                                                  rel=1e-5)
        ent = run(f'net["{lab}", "Entropy"]', s)
        assert ent == pytest.approx(-(probs[i] * np.log(probs[i])).sum(), rel=1e-5)
        order = np.argsort(-probs[i])
        top = run(f'net["{lab}", "TopProbabilities"]', s)
        keep = [j for j in order if probs[i, j] > 0.1 * probs[i, order[0]]]
        assert [r.args[0] for r in top.args] == [labels[j] for j in keep]
        top2 = run(f'net["{lab}", {{"TopProbabilities", 2}}]', s)
        assert [r.args[0] for r in top2.args] == [labels[j] for j in order[:2]]
        assert py(run(f'net["{lab}", {{"TopDecisions", 3}}]', s)) == [labels[j] for j in order]
    batch = py(run('net[{"a", "e", "c"}]', s))
    assert batch == [labels[int(np.argmax(probs[i]))] for i in (0, 4, 2)]
    assert len(run('net[{"a", "e"}, "Probabilities"]', s).args) == 2


def test_bad_inputs_and_properties_give_netdsl_errors():
    s = session()
    run(f"net = NetInitialize[{CHAIN}]", s)
    with pytest.raises(EvaluationError, match='"q" is not one of'):
        run('net["q"]', s)
    with pytest.raises(EvaluationError, match="count between 1 and 3"):
        run('net["a", {"TopProbabilities", 9}]', s)
    with pytest.raises(EvaluationError, match="is not one of the decoder's labels"):
        run('net["a", {"Probabilities", "w"}]', s)


def test_indices_still_work_on_an_encoded_port():
    s = session()
    run(f"net = NetInitialize[{CHAIN}, RandomSeeding -> 2]", s)
    assert run('net["b"]', s) == run("net[2]", s)


def test_boolean_encoder_and_decoder_on_a_layer():
    s = session()
    run('net = NetInitialize[NetChain[{LinearLayer[{}], LogisticSigmoid}, "Input" -> '
        'NetEncoder["Boolean"], "Output" -> NetDecoder["Boolean"]], RandomSeeding -> 1]', s)
    lin = run("NetExtract[net, 1]", s)
    w = float(np.asarray(lin.arrays["Weights"]).ravel()[0])
    b = float(np.asarray(lin.arrays["Biases"]).ravel()[0])
    for x, v in (("True", 1.0), ("False", 0.0)):
        p = 1 / (1 + np.exp(-(w * v + b)))
        assert run(f"net[{x}]", s) is Symbol("True" if p > 0.5 else "False")
        probs = run(f'net[{x}, "Probabilities"]', s)
        assert probs.get(Symbol("True")) == pytest.approx(p, rel=1e-5)
        assert probs.get(Symbol("False")) == pytest.approx(1 - p, rel=1e-5)


def test_decoder_on_a_single_layer_port():
    s = session()
    run('l = NetInitialize[SoftmaxLayer["Output" -> NetDecoder[{"Class", {"u", "v"}}]]]', s)
    assert run("l[{1., 3.}]", s) == "v"
    assert '"Output" -> NetDecoder[{"Class", {"u", "v"}}]' in input_form(run("l", s))
    assert run(input_form(run("l", s)) + '[{3., 1.}]') == "u"


def test_decoders_apply_to_arrays_directly():
    assert run('NetDecoder[{"Class", {"a", "b"}}][{0.3, 0.7}]') == "b"
    assert py(run('NetDecoder[{"Class", {"a", "b"}}][{{0.3, 0.7}, {0.9, 0.1}}]')) == ["b", "a"]
    assert run('NetDecoder["Class"][{0.1, 0.2, 0.7}]') == 3        # labels 1..n
    assert run("NetDecoder[\"Boolean\"][0.7]") is Symbol("True")


DEPTH2 = 'NetDecoder[{"Class", {"a", "b", "c"}, "InputDepth" -> 2}]'
TAGGER = ('NetInitialize[NetChain[{NetMapOperator[LinearLayer[3]], SoftmaxLayer[]}, '
          '"Input" -> {"Varying", 2}, "Output" -> ' + DEPTH2 + '], RandomSeeding -> 2]')


def test_input_depth_decides_per_position():
    """Wolfram's "InputDepth": a matrix is one example, a class decision per row."""
    assert py(run(DEPTH2 + "[{{0.1, 0.7, 0.2}, {0.8, 0.1, 0.1}}]")) == ["b", "a"]
    assert py(run(DEPTH2 + "[{{{0.1, 0.7, 0.2}}, {{0.2, 0.2, 0.6}}}]")) == [["b"], ["c"]]
    probs = run(DEPTH2 + '[{{0.1, 0.7, 0.2}, {0.8, 0.1, 0.1}}, "Probabilities"][[All, '
                         '{"a", "b"}]]')
    np.testing.assert_allclose(np.asarray(run(f"Values /@ {input_form(probs)}"), float),
                               [[0.1, 0.7], [0.8, 0.1]], rtol=1e-6)
    assert py(run('NetDecoder[{"Boolean", "InputDepth" -> 1}][{0.2, 0.9}]')) == \
        [Symbol("False"), Symbol("True")]
    assert input_form(run(DEPTH2)) == DEPTH2
    fails(DEPTH2 + "[{0.1, 0.7, 0.2}]", "rank 2", "not of rank 1")
    fails('NetDecoder[{"Class", "InputDepth" -> 0}]', "from 1 to 8")
    fails('NetDecoder[{"Class", {"a"}, "Depth" -> 2}]', '"Depth" is not an option')


def test_a_tagger_gives_a_label_per_step_and_trains_on_label_sequences():
    s = session()
    run(f"net = {TAGGER}; x = RandomReal[1, {{2, 3, 2}}]", s)
    raw = np.asarray(run("net[x, None]", s))             # None: the undecoded output
    assert raw.shape == (2, 3, 3)
    labels = np.array(["a", "b", "c"])
    assert py(run("net[x]", s)) == labels[raw.argmax(axis=-1)].tolist()
    ragged = py(run("net[{x[[1]], x[[2, ;; 2]]}]", s))
    assert [len(r) for r in ragged] == [3, 2]
    run('u = {{2., 0.}, {0., 2.}, {-2., -2.}}; v = {{-2., -2.}, {2., 0.}}; '
        'trained = NetTrain[net, {u -> {"a", "b", "c"}, v -> {"c", "a"}}, '
        'MaxTrainingRounds -> 300, LearningRate -> 0.05]', s)
    assert py(run("trained[{u, v}]", s)) == [["a", "b", "c"], ["c", "a"]]
    with pytest.raises(NetDSLError, match='"q" is not one of'):
        run('NetTrain[net, {x[[1]] -> {"a", "b", "q"}}, MaxTrainingRounds -> 1]', s)

# ---------------------------------------------------------------- training
TRAIN_NET = ('NetChain[{LinearLayer[8], Tanh, LinearLayer[3], SoftmaxLayer[]}, "Input" -> 2, '
             '"Output" -> NetDecoder[{"Class", {"lo", "mid", "hi"}}]]')
PLAIN_NET = 'NetChain[{LinearLayer[8], Tanh, LinearLayer[3], SoftmaxLayer[]}, "Input" -> 2]'


def _toy(s: Session) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 2))
    y = np.digitize(x.sum(axis=1), [-0.7, 0.7]) + 1
    names = ["lo", "mid", "hi"]
    s.evaluate("xs = " + input_form(Expr(Symbol("List"), *[Expr(Symbol("List"), *map(float, r))
                                                          for r in x])))
    s.evaluate("idx = {" + ", ".join(map(str, y)) + "}")
    s.evaluate("labs = {" + ", ".join(f'"{names[i - 1]}"' for i in y) + "}")


def test_nettrain_takes_labels_as_targets_like_indices():
    s = session()
    _toy(s)
    opts = "MaxTrainingRounds -> 5, BatchSize -> 10, RandomSeeding -> 7"
    run(f"a = NetTrain[{TRAIN_NET}, xs -> labs, {opts}]", s)
    run(f"b = NetTrain[{PLAIN_NET}, xs -> idx, {opts}]", s)
    wa = run('NetExtract[a, {3, "Weights"}]', s)
    wb = run('NetExtract[b, {3, "Weights"}]', s)
    np.testing.assert_array_equal(np.asarray(py(wa)), np.asarray(py(wb)))
    assert isinstance(run("a[xs[[1]]]", s), str)
    # the rule-list form and the association form take labels too
    run(f"c = NetTrain[{TRAIN_NET}, Thread[xs -> labs], {opts}]", s)
    run(f'd = NetTrain[{TRAIN_NET}, <|"Input" -> xs, "Output" -> labs|>, {opts}]', s)
    for name in "cd":
        w = run(f'NetExtract[{name}, {{3, "Weights"}}]', s)
        np.testing.assert_array_equal(np.asarray(py(w)), np.asarray(py(wa)))


def test_nettrain_rejects_unknown_labels():
    s = session()
    _toy(s)
    with pytest.raises(EvaluationError, match='"huge" is not one of'):
        run(f'NetTrain[{TRAIN_NET}, xs -> Prepend[Rest[labs], "huge"], '
            f"MaxTrainingRounds -> 1]", s)


def test_nettrain_encodes_label_inputs():
    s = session()
    enc = '"Input" -> NetEncoder[{"Class", {"p", "q", "r"}}]'
    net = f"NetChain[{{EmbeddingLayer[3], LinearLayer[2]}}, {enc}]"
    plain = 'NetChain[{EmbeddingLayer[3, 3], LinearLayer[2]}, "Input" -> "Integer"]'
    opts = "MaxTrainingRounds -> 3, BatchSize -> 2, RandomSeeding -> 4"
    run(f'a = NetTrain[{net}, {{"p", "q", "r", "p"}} -> {{{{1., 0.}}, {{0., 1.}}, {{1., 1.}}, '
        f"{{0., 0.}}}}, {opts}]", s)
    run(f"b = NetTrain[{plain}, {{1, 2, 3, 1}} -> {{{{1., 0.}}, {{0., 1.}}, {{1., 1.}}, "
        f"{{0., 0.}}}}, {opts}]", s)
    wa = np.asarray(py(run('NetExtract[a, {1, "Weights"}]', s)))
    wb = np.asarray(py(run('NetExtract[b, {1, "Weights"}]', s)))
    np.testing.assert_array_equal(wa, wb)


def test_net_measurements_with_labels():
    s = session()
    _toy(s)
    run(f"a = NetTrain[{TRAIN_NET}, xs -> labs, MaxTrainingRounds -> 20, BatchSize -> 10, "
        f"RandomSeeding -> 7]", s)
    acc = run('NetMeasurements[a, xs -> labs, "Accuracy"]', s)
    pred = py(run("a[xs]", s))
    labs = py(run("labs", s))
    assert acc == pytest.approx(np.mean([p == t for p, t in zip(pred, labs)]))


# ---------------------------------------------------------------- helpers and the example
def _with(enc) -> Session:
    s = session()
    s.evaluate(f"e = {input_form(enc)}")
    return s


def _check(text: str):
    out, err = io.StringIO(), io.StringIO()
    code = check_text(text, "t.wl", out, err)
    return code, out.getvalue(), err.getvalue()


def test_classify_example_gives_labels(tmp_path):
    r = run_netdsl(str(EXAMPLES / "classify.wl"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = dict(line.split(": ", 1) for line in r.stdout.splitlines() if ": " in line)
    first = r.stdout.splitlines()[0]
    assert first.startswith("first test image is a ")
    truth, said = first[len("first test image is a "):].split("; the net says ")
    assert said in ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                    "nine")
    accuracy = float(lines["held-out accuracy"])
    assert accuracy > 0.8
    assert float(lines["NetMeasurements accuracy"]) == pytest.approx(accuracy, abs=1e-6)


def test_net_file_keeps_the_coders(tmp_path):
    s = session()
    net = run(f"net = NetInitialize[{CHAIN}, RandomSeeding -> 1]", s)
    path = (tmp_path / "coded.safetensors").as_posix()
    run(f'Export["{path}", net]', s)
    back = run(f'Import["{path}"]', s)
    assert input_form(back) == input_form(net)
    assert run(f'Import["{path}"]["c", "Probabilities"]', s) == run('net["c", "Probabilities"]',
                                                                    s)


def test_python_call_encodes_labels():
    net = run(f"NetInitialize[{CHAIN}, RandomSeeding -> 1]")
    np.testing.assert_array_equal(net(["a", "c"]), net(np.array([1, 3])))
    np.testing.assert_array_equal(net("b"), net(2))
    boolean = run('NetInitialize[NetChain[{LinearLayer[2]}, "Input" -> NetEncoder["Boolean"]]]')
    np.testing.assert_array_equal(boolean([True, False]), boolean(np.array([1.0, 0.0])))


def test_net_graph_ports_take_coders():
    s = session()
    run('g = NetInitialize[NetGraph[<|"emb" -> EmbeddingLayer[3], "lin" -> LinearLayer[2], '
        '"soft" -> SoftmaxLayer[]|>, {"emb" -> "lin" -> "soft"}, '
        '"Input" -> NetEncoder[{"Class", {"r", "g", "b"}}], '
        '"Output" -> NetDecoder[{"Class", {"yes", "no"}}]], RandomSeeding -> 9]', s)
    assert run('g["g"]', s) in ("yes", "no")
    probs = run('g["g", "Probabilities"]', s)
    raw = run('NetReplacePart[g, "Output" -> 2][2]', s)
    np.testing.assert_allclose([probs.get("yes"), probs.get("no")], py(raw), rtol=1e-6)
    again = run(input_form(run("g", s)))
    assert input_form(again) == input_form(run("g", s))


def test_nets_with_different_coders_are_not_equal():
    a = run('NetChain[{LinearLayer[2]}, "Output" -> NetDecoder[{"Class", {"x", "y"}}]]')
    b = run('NetChain[{LinearLayer[2]}, "Output" -> NetDecoder[{"Class", {"y", "x"}}]]')
    c = run('NetChain[{LinearLayer[2]}, "Output" -> 2]')
    assert a != b and a != c and a == run(input_form(a))
    la = run('SoftmaxLayer["Output" -> NetDecoder[{"Class", {"x", "y"}}]]')
    assert la != run('SoftmaxLayer["Input" -> 2]') and la == run(input_form(la))


def test_fixed_length_text_classifier_trains_on_strings():
    s = session()
    enc = 'NetEncoder[{"Tokens", {"good", "bad", "movie", "very"}, "TargetLength" -> 3}]'
    run(f'net = NetChain[{{EmbeddingLayer[4], FlattenLayer[], LinearLayer[2], SoftmaxLayer[]}}, '
        f'"Input" -> {enc}, "Output" -> NetDecoder[{{"Class", {{"pos", "neg"}}}}]]', s)
    t_in = run("net", s).ports["Input"]
    assert (t_in.shape, t_in.integer, t_in.classes) == ((3,), True, 5)
    texts = '{"good movie", "very good", "bad movie", "very bad", "Good!", "BAD"}'
    labels = '{"pos", "pos", "neg", "neg", "pos", "neg"}'
    run(f"trained = NetTrain[net, {texts} -> {labels}, MaxTrainingRounds -> 200, "
        f"BatchSize -> 6, RandomSeeding -> 1]", s)
    assert py(run(f"trained[{texts}]", s)) == py(run(labels, s))
    # what the net saw: "!" is an unknown token (5), and short texts are padded with 5
    codes = py(run(f"{enc}[{texts}]", s))
    assert codes[4] == [1, 5, 5] and codes[5] == [2, 5, 5]


# ---------------------------------------------------------------- "RandomSample"
def _frequencies(prop, n=20000, probs=(0.2, 0.5, 0.3)):
    dec = NetDecoder("Class", ("a", "b", "c"))
    y = np.tile(np.asarray(probs, np.float32), (n, 1))
    draws = dec.decode(y, prop, rng=np.random.default_rng(3))
    return np.array([draws.count(k) for k in "abc"]) / n


@pytest.mark.parametrize("prop, want", [
    ("RandomSample", [0.2, 0.5, 0.3]),
    # temperature t: p^(1/t), renormalised
    (Expr(Symbol("List"), "RandomSample", 0.5),
     np.array([0.2, 0.5, 0.3]) ** 2 / (np.array([0.2, 0.5, 0.3]) ** 2).sum()),
    # the 2 most likely, renormalised
    (Expr(Symbol("List"), "RandomSample", Expr(Symbol("Rule"), "TopProbabilities", 2)),
     [0, 0.5 / 0.8, 0.3 / 0.8]),
    # the most likely classes whose total reaches 0.5: b alone
    (Expr(Symbol("List"), "RandomSample",
          Expr(Symbol("Rule"), "TotalProbabilityCutoff", 0.5)), [0, 1, 0]),
])
def test_random_sample_draws_with_the_probabilities_asked_for(prop, want):
    got = _frequencies(prop)
    # within 4.5 standard deviations of a binomial proportion over 20,000 draws
    sd = np.sqrt(np.maximum(np.asarray(want) * (1 - np.asarray(want)), 1e-12) / 20000)
    assert np.all(np.abs(got - want) <= 4.5 * sd + 1e-12), (got, want)


def test_random_sample_in_a_net_call_follows_random_seeding():
    s = session()
    run('net = NetInitialize[NetChain[{LinearLayer[3], SoftmaxLayer[]}, "Input" -> 2, '
        '"Output" -> NetDecoder[{"Class", {"a", "b", "c"}}]], RandomSeeding -> 1]; '
        "x = RandomReal[1, {50, 2}]", s)
    one = py(run('net[x, "RandomSample", RandomSeeding -> 5]', s))
    assert one == py(run('net[x, "RandomSample", RandomSeeding -> 5]', s))
    assert set(one) <= {"a", "b", "c"}
    fails('NetDecoder[{"Class", {"a", "b"}}][{0.5, 0.5}, {"RandomSample", "Temp" -> 1}]',
          '"Temp" -> 1 is not a "RandomSample" setting')
    fails('NetDecoder[{"Class", {"a", "b"}}][{0.5, 0.5}, {"RandomSample", -1}]',
          '"Temperature" -> -1 should be a positive number')
