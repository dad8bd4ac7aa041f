"""NetEncoder "Characters" and "Tokens" without "TargetLength": "Varying" ports.

The expected codes are written out from the encoder's definition (Wolfram's "Characters"
reference page: the default table is tab, newline and the printable ASCII characters
32..126; groups such as LetterCharacter give one code per character; ``_`` takes every
other character; StartOfString/EndOfString are virtual characters around each string),
and the vectorised encoding is compared with a per-character dictionary loop.
"""

from __future__ import annotations

import io
import string

import numpy as np
import pytest

import netdsl
from netdsl import Session
from netdsl.errors import NetDSLError
from netdsl.expr import input_form, to_ndarray
from netdsl.layers.shapes import LengthVar
from values import py


def run(text: str, s: Session | None = None):
    return (s or Session(stdout=io.StringIO())).evaluate(text)


def fails(text: str, *parts: str) -> str:
    with pytest.raises(NetDSLError) as e:
        run(text)
    for p in parts:
        assert p in str(e.value), str(e.value)
    return str(e.value)


# ---------------------------------------------------------------- the encoder alone
def test_strings_of_any_length():
    assert py(run('NetEncoder[{"Characters", "abc"}]["abca"]')) == [1, 2, 3, 1]
    assert py(run('NetEncoder[{"Characters", "abc"}][{"ab", "cab"}]')) == [[1, 2], [3, 1, 2]]
    assert py(run('NetEncoder[{"Characters", "abc"}][{"ab", "ca"}]')) == [[1, 2], [3, 1]]
    assert py(run('NetEncoder[{"Characters", "abc"}][""]')) == []


def test_default_table_is_tab_newline_and_printable_ascii():
    table = "\t\n" + "".join(chr(c) for c in range(32, 127))
    assert len(table) == 97
    text = "Hello,\tworld!\n~ "
    got = py(run('NetEncoder["Characters"][' + input_form(text) + ']'))
    assert got == [table.index(c) + 1 for c in text]
    assert run('NetEncoder["Characters"]') == run('NetEncoder[{"Characters", Automatic}]')


@pytest.mark.parametrize("group,chars", [
    ("LetterCharacter", string.ascii_lowercase + string.ascii_uppercase),
    ("DigitCharacter", string.digits),
    ("WordCharacter", string.ascii_lowercase + string.ascii_uppercase + string.digits),
    ("PunctuationCharacter", string.punctuation),
    ("WhitespaceCharacter", " \t\n"),
])
def test_character_groups_give_one_code_per_character(group, chars):
    enc = run(f'NetEncoder[{{"Characters", {group}}}]')
    assert enc.count == len(chars)
    got = py(run(f'NetEncoder[{{"Characters", {group}}}][{input_form(chars[::-1])}]'))
    assert got == list(range(len(chars), 0, -1))


def test_blank_rules_and_virtual_characters():
    # DigitCharacter: codes 1..10, _ (anything else): 11
    assert py(run('NetEncoder[{"Characters", {DigitCharacter, _}}]["a1b0"]')) == \
        [11, 2, 11, 1]
    assert py(run('NetEncoder[{"Characters", {"aeiou" -> 1, _ -> 2}}]["hello"]')) == \
        [2, 1, 2, 2, 1]
    assert py(run('NetEncoder[{"Characters", {"ab", "xyz" -> Automatic, "c"}}]["axzcb"]')) \
        == [1, 3, 3, 4, 2]
    assert py(run('NetEncoder[{"Characters", {StartOfString, "ab", EndOfString}}]'
                     '[{"ab", "b"}]')) == [[1, 2, 3, 4], [1, 3, 4]]
    one_hot = to_ndarray(run('NetEncoder[{"Characters", "ab", "UnitVector"}]["ba"]'))
    np.testing.assert_array_equal(one_hot, [[0, 1], [1, 0]])


def test_ignore_case():
    assert py(run('NetEncoder[{"Characters", LetterCharacter, "IgnoreCase" -> True}]'
                     '["AbZ"]')) == [1, 2, 26]
    assert run('NetEncoder[{"Characters", LetterCharacter, "IgnoreCase" -> True}]').count == 26
    assert py(run('NetEncoder[{"Tokens", {"the", "cat"}}][{"The cat sat", "cat"}]')) == \
        [[1, 2, 3], [2]]


def test_vectorised_encoding_matches_a_dictionary_loop():
    rng = np.random.default_rng(0)
    alphabet = "abcdefghij\u00e9\u4e2d\U0001f600"
    table = {c: i for i, c in enumerate(alphabet, 1)}
    texts = ["".join(rng.choice(list(alphabet), rng.integers(1, 9))) for _ in range(40)]
    enc = netdsl.evaluate('NetEncoder[{"Characters", ' + input_form(alphabet) + '}]')
    got = enc.encode(texts)
    assert [list(g) for g in got] == [[table[c] for c in t] for t in texts]


@pytest.mark.parametrize("text,parts", [
    ('NetEncoder[{"Characters", "abc"}]["abd"]', ('the character "d"', "not in the encoder")),
    ('NetEncoder[{"Characters", "abc"}][{"ab", 3}]', ("3 is not a string",)),
    ('NetEncoder[{"Characters", {"ab", 7}}]', ("Invalid character table", "7 is not")),
    ('NetEncoder[{"Characters", {"ab" -> 0}}]', ("code n >= 1",)),
    ('NetEncoder[{"Characters", "ab", "Bits"}]', ('should be "Index" or "UnitVector"',)),
    ('NetEncoder[{"Tokens"}]', ("needs its tokens",)),
])
def test_bad_specs_and_inputs_are_netdsl_errors(text, parts):
    fails(text, *parts)


@pytest.mark.parametrize("spec", [
    'NetEncoder["Characters"]',
    'NetEncoder[{"Characters", "abc"}]',
    'NetEncoder[{"Characters", {"aeiou" -> 1, _ -> 2}, "IgnoreCase" -> True}]',
    'NetEncoder[{"Characters", {StartOfString, LetterCharacter, EndOfString}, "UnitVector"}]',
    'NetEncoder[{"Tokens", {"a", "b"}}]',
])
def test_text_encoders_print_back(spec):
    value = run(spec)
    assert input_form(value) == spec
    assert run(input_form(value)) == value


# ---------------------------------------------------------------- on a net
NET = ('NetInitialize[NetChain[{EmbeddingLayer[4], LongShortTermMemoryLayer[3], '
       'SequenceLastLayer[], LinearLayer[2], SoftmaxLayer[]}, '
       '"Input" -> NetEncoder[{"Characters", "abc"}]], RandomSeeding -> 5]')


PLAIN = 'plain = NetReplacePart[net, "Input" -> {"Varying", Restricted["Integer", 3]}];'


def test_encoder_port_is_varying():
    net = netdsl.evaluate(NET)
    shape = net.ports["Input"].shape
    assert len(shape) == 1 and isinstance(shape[0], LengthVar)
    assert "{n}" in net.ports["Input"].words()
    unit = netdsl.evaluate('LongShortTermMemoryLayer[2, "Input" -> '
                           'NetEncoder[{"Characters", "ab", "UnitVector"}]]')
    shape = unit.ports["Input"].shape
    assert isinstance(shape[0], LengthVar) and shape[1] == 2


def test_net_takes_strings_of_any_length_as_their_indices():
    s = Session(stdout=io.StringIO())
    s.evaluate('net = ' + NET + '; ' + PLAIN)
    batch = to_ndarray(s.evaluate('net[{"a", "abcab", "cc"}]'))
    by_index = [to_ndarray(s.evaluate(f'plain[{q}]'))
                for q in ("{1}", "{1, 2, 3, 1, 2}", "{3, 3}")]
    np.testing.assert_allclose(batch, np.array(by_index), rtol=1e-6)
    net = s.evaluate('net')
    np.testing.assert_allclose(net(["abcab", "a"]), [by_index[1], by_index[0]], rtol=1e-6)


def test_net_train_on_strings_equals_training_on_their_indices():
    s = Session(stdout=io.StringIO())
    s.evaluate('net = ' + NET + '; ' + PLAIN)
    opts = 'All, MaxTrainingRounds -> 5, BatchSize -> 3, TrainingProgressReporting -> None'
    a = s.evaluate(f'NetTrain[net, {{"abc" -> 1, "cb" -> 2, "a" -> 1, "ccab" -> 2}}, {opts}]')
    b = s.evaluate(f'NetTrain[plain, {{{{1, 2, 3}} -> 1, {{3, 2}} -> 2, {{1}} -> 1, '
                   f'{{3, 3, 1, 2}} -> 2}}, {opts}]')
    la, lb = (to_ndarray(r.props["BatchLossList"]) for r in (a, b))
    assert len(la) == 10
    np.testing.assert_allclose(la, lb, rtol=1e-6)


@pytest.mark.parametrize("port", [
    'NetEncoder[{"Characters", {StartOfString, "aeiou" -> 1, LetterCharacter, _}, '
    '"IgnoreCase" -> True}]',
    '{"Varying", Restricted["Integer", 60]}',       # an integer sequence port, no encoder
])
def test_varying_text_nets_survive_a_net_file(tmp_path, port):
    s = Session(stdout=io.StringIO())
    path = input_form(str(tmp_path / "net.safetensors"))
    s.evaluate('net = NetInitialize[NetChain[{EmbeddingLayer[4], LongShortTermMemoryLayer[3], '
               f'SequenceLastLayer[]}}, "Input" -> {port}], RandomSeeding -> 1]; '
               f'Export[{path}, net]; back = Import[{path}];')
    x = '{"Hello, World", "ab"}' if "Characters" in port else '{{1, 2, 3}, {60}}'
    np.testing.assert_array_equal(to_ndarray(s.evaluate(f'back[{x}]')),
                                  to_ndarray(s.evaluate(f'net[{x}]')))
    assert input_form(s.evaluate('back')) == input_form(s.evaluate('net'))


@pytest.mark.parametrize("text", ['net[""]', 'net[{"ab", ""}]',
                                  'NetTrain[net, {"ab" -> {1, 2, 3}, "" -> {1, 2, 3}}]'])
def test_an_empty_string_is_a_sequence_too_short(text):
    s = Session(stdout=io.StringIO())
    s.evaluate('net = ' + NET.replace("LinearLayer[2], SoftmaxLayer[]", "LinearLayer[3]"))
    with pytest.raises(NetDSLError, match=r'netseqlen: A sequence was provided that was less '
                                          r'than the minimum required length \(1\) at port '
                                          r'"Input"'):
        s.evaluate(text)
