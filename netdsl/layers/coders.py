"""NetEncoder and NetDecoder: turning labels, booleans and text into arrays and back.

An encoder sits on an input port ("Input" -> NetEncoder[...]) and turns what the user
gives (class labels, True/False, numbers, strings) into the array the port carries; a
decoder sits on an output port and turns the net's array into labels. Both are plain
values (hashable, comparable), carried on the port's ``PortType`` so that inference,
printing and copying keep them without special cases.

Wolfram's definitions (NeuralNetworks paclet, Encoders/ and Decoders/):

- "Class": labels -> indices 1..n ("OutputForm" -> "Index", the default) or one-hot
  vectors ("UnitVector"); a label not in the list fails with "x is not one of {...}".
- "Boolean": True -> 1, False -> 0, a real number.
- "Scalar": a number, passed through as a real number.
- "Characters": each character -> its code in the table (char_table.py: strings,
  character groups, StartOfString/EndOfString, ``_`` for any other character; the
  default table is tab, newline and printable ASCII, 97 codes); "IgnoreCase" -> False;
  a character outside the table fails ("contained invalid characters"); the form
  "Index" (default) or "UnitVector" (one-hot vectors); "TargetLength" -> All (the
  default: a sequence of varying length, a "Varying" port) or n (chop or pad; padding
  uses the count n).
- "Tokens": a string split into words and punctuation, each word -> its index;
  "IgnoreCase" -> True; an unknown token -> n + 1 (the count is n + 1); "TargetLength"
  as for characters.
- Decoder "Class": the label with the largest probability; properties "Decision",
  "Probabilities" (<|label -> p|>), {"Probabilities", label}, "TopProbabilities" (label
  -> p, largest first, those above a tenth of the largest), {"TopProbabilities", n},
  {"TopDecisions", n} and "Entropy".
- Decoder "Boolean": True when the probability is above 0.5.

Without "TargetLength" -> n, "Characters" and "Tokens" give sequences of varying length:
the port is "Varying" (its first dimension a LengthVar), and a list of strings of
different lengths becomes a 1-d object array of per-example index arrays (the executor
runs each length in its own pass).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import EvaluationError
from ..expr import (Association, Expr, Opaque, Symbol, boolean, input_form, is_integer,
                    is_list, is_number, is_string, list_items, make_list, to_atom, to_ndarray)
from .char_table import CharTable, TableError, bad_character, build_table, encode_strings
from .shapes import SPEC_READERS, LengthVar, PortType

S = Symbol

ENCODER_KINDS = ("Class", "Boolean", "Scalar", "Characters", "Tokens")
DECODER_KINDS = ("Class", "Boolean", "Scalar", "Characters", "Tokens", "CTCBeamSearch")
DECODER_PROPERTIES = ("Decision", "Probabilities", "TopProbabilities", "Entropy")
_OUT_OF_SCOPE = ("Image", "Image3D", "Audio", "AudioMelSpectrogram", "AudioMFCC",
                 "AudioSpectrogram", "AudioSTFT", "Function", "SubwordTokens", "BPESubwords",
                 "FeatureExtractor", "CharactersLength")
_TOKEN_SPLIT = re.compile(r"\w+|[^\w\s]")


def coder_error(head: str, text: str, tag: str = "invcoder") -> EvaluationError:
    return EvaluationError(text, symbol=head, tag=tag)


def _key(x: Any) -> Any:
    """A hashable lookup key for a label (numbers compare by value, 1 == 1.0)."""
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):   # a list label ({1, 0}): packed arrays do not hash
        return Expr(S("List"), *(_key(v) for v in x)) if x.ndim else to_atom(x.item())
    return x


def _labels(spec: Any, head: str) -> tuple:
    if not is_list(spec):
        raise coder_error(head, f"The class labels must be a list, not {input_form(spec)}.")
    items = list_items(spec)
    if not items:
        raise coder_error(head, "The list of class labels is empty.")
    keys = [_key(x) for x in items]
    if len(set(keys)) != len(keys):
        raise coder_error(head, "The class labels must be distinct.")
    return tuple(keys)


def _options(rules: list, allowed: dict[str, Any], head: str, kind: str) -> dict[str, Any]:
    out = dict(allowed)
    for r in rules:
        name = r.args[0].name if isinstance(r.args[0], Symbol) else r.args[0]
        if name not in allowed:
            raise coder_error(head, f'{input_form(r.args[0])} is not an option of the "{kind}" '
                                    f"{head[3:].lower()}; its options are "
                                    f"{', '.join(allowed) or 'none'}.")
        out[name] = r.args[1]
    return out


def _split_spec(args: tuple, head: str) -> tuple[str, list, list]:
    """NetEncoder["Kind"], NetEncoder[{"Kind", params..., opts...}] -> kind, params, rules."""
    if len(args) != 1:
        raise coder_error(head, f"{head} takes one argument, \"kind\" or {{\"kind\", ...}}.",
                          tag="argx")
    spec = args[0]
    items = [spec] if is_string(spec) else list_items(spec) if is_list(spec) else None
    if not items or not is_string(items[0]):
        raise coder_error(head, f"{input_form(spec)} is not a valid {head} specification; "
                                f'use {head}["kind"] or {head}[{{"kind", ...}}].')
    rules = [x for x in items[1:] if isinstance(x, Expr) and x.head in (S("Rule"),
                                                                          S("RuleDelayed"))]
    params = [x for x in items[1:] if x not in rules]
    return items[0], params, rules


PARAM_NAMES = {"Class": ("Labels",), "Tokens": ("Tokens",), "Characters": ("Encoding",)}


def coder_parameters(coder: Any) -> dict[str, Any]:
    """A coder's parameters by Wolfram's names, read off its own spec: "Labels" (Class),
    "Tokens", "Encoding" (the Characters table), and its options ("InputDepth",
    "IgnoreCase", "TargetLength", ...): what NetExtract[coder, name] gives."""
    kind, params, rules = _split_spec(coder.expr().args, coder.head_name)
    out = {"Type": kind}
    out.update(zip(PARAM_NAMES.get(kind, ()), params))
    out.update({r.args[0]: r.args[1] for r in rules})
    return out


def with_coder_parameter(coder: Any, name: str, value: Any) -> Any:
    """The coder with one parameter replaced (NetReplacePart[coder, "Labels" -> ...]),
    built again from its spec, so the usual checks apply."""
    kind, params, rules = _split_spec(coder.expr().args, coder.head_name)
    names = PARAM_NAMES.get(kind, ())
    if name in names:
        i = names.index(name)
        params = params + [None] * (i + 1 - len(params))
        params[i] = value
    else:
        rules = [r for r in rules if r.args[0] != name] + [Expr(S("Rule"), name, value)]
    return type(coder).build((make_list([kind, *params, *rules]),))


def _bool_option(v: Any, name: str, head: str) -> bool:
    if v is S("True") or v is S("False"):
        return v is S("True")
    raise coder_error(head, f'"{name}" -> {input_form(v)} should be True or False.')


def _length_option(v: Any, head: str) -> int | None:
    if v is S("All"):
        return None
    if is_integer(v) and v >= 1:
        return int(v)
    raise coder_error(head, f'"TargetLength" -> {input_form(v)} should be All or a positive '
                            f"integer.")


# ---------------------------------------------------------------- encoders
@dataclass(frozen=True, eq=True)
class NetEncoder(Opaque):
    """One encoder: its kind, its labels (classes, characters or tokens) and options."""

    kind: str
    labels: tuple | None = None
    ignore_case: bool = False
    target_length: int | None = None
    unit_vector: bool = False
    chars: CharTable | None = None   # "Characters": the code of each character
    table: Any = None                # "Characters": the table as given (for printing)

    head_name = "NetEncoder"

    # -- construction ---------------------------------------------------------------
    @classmethod
    def build(cls, args: tuple) -> "NetEncoder":
        head = "NetEncoder"
        kind, params, rules = _split_spec(args, head)
        if kind in _OUT_OF_SCOPE:
            raise coder_error(head, f'NetEncoder["{kind}"] is not supported by netdsl: only '
                                    f'"Class", "Boolean", "Scalar", "Characters" and "Tokens" '
                                    f"encoders are; give the net arrays instead.",
                              tag="unsupported")
        if kind not in ENCODER_KINDS:
            raise coder_error(head, f'"{kind}" is not a known encoder; netdsl has '
                                    f"{', '.join(ENCODER_KINDS)}.")
        if kind in ("Boolean", "Scalar"):
            if params or rules:
                raise coder_error(head, f'The "{kind}" encoder takes no parameters.')
            return cls(kind)
        if kind == "Class":
            labels = _labels(params[0], head) if params else None
            if len(params) > 2:
                raise coder_error(head, 'The "Class" encoder takes {"Class", labels} or '
                                        '{"Class", labels, "UnitVector"}.')
            form = params[1] if len(params) == 2 else "Index"
            opts = _options(rules, {"OutputForm": form}, head, kind)
            if opts["OutputForm"] not in ("Index", "UnitVector"):
                raise coder_error(head, f'"OutputForm" -> {input_form(opts["OutputForm"])} '
                                        f'should be "Index" or "UnitVector".')
            if opts["OutputForm"] == "UnitVector" and labels is None:
                raise coder_error(head, 'A "UnitVector" class encoder needs its labels.')
            return cls(kind, labels, unit_vector=opts["OutputForm"] == "UnitVector")
        if kind == "Characters":
            return cls._characters(params, rules, head)
        if not params or len(params) > 1:
            raise coder_error(head, 'The "Tokens" encoder needs its tokens: '
                                    'NetEncoder[{"Tokens", {...}}] (netdsl has no built-in '
                                    'vocabulary).')
        opts = _options(rules, {"IgnoreCase": S("True"), "TargetLength": S("All")}, head, kind)
        labels = _labels(params[0], head)
        if not all(isinstance(x, str) for x in labels):
            raise coder_error(head, 'The tokens of a "Tokens" encoder must be strings.')
        ignore = _bool_option(opts["IgnoreCase"], "IgnoreCase", head)
        if ignore:
            labels = tuple(dict.fromkeys(x.lower() for x in labels))
        return cls(kind, labels, ignore, _length_option(opts["TargetLength"], head))

    @classmethod
    def _characters(cls, params: list, rules: list, head: str) -> "NetEncoder":
        """NetEncoder["Characters"], {"Characters", table}, {"Characters", table, form}."""
        if len(params) > 2:
            raise coder_error(head, 'The "Characters" encoder takes {"Characters", table} or '
                                    '{"Characters", table, "Index" | "UnitVector"}.')
        table = params[0] if params else S("Automatic")
        form = params[1] if len(params) == 2 else "Index"
        if form not in ("Index", "UnitVector"):
            raise coder_error(head, f'The form {input_form(form)} of a "Characters" encoder '
                                    f'should be "Index" or "UnitVector".')
        opts = _options(rules, {"IgnoreCase": S("False"), "TargetLength": S("All")}, head,
                        "Characters")
        ignore = _bool_option(opts["IgnoreCase"], "IgnoreCase", head)
        try:
            chars = build_table(table, ignore)
        except TableError as e:
            raise coder_error(head, f"Invalid character table: {e}.") from None
        return cls("Characters", chars.codes, ignore, _length_option(opts["TargetLength"], head),
                   form == "UnitVector", chars, table)

    # -- what it gives the port ------------------------------------------------------
    @property
    def count(self) -> int | None:
        """How many indices the encoder produces (Tokens: one more, for unknown tokens)."""
        if self.labels is None:
            return None
        return len(self.labels) + (1 if self.kind == "Tokens" else 0)

    def port_type(self) -> Any:
        if self.kind in ("Boolean", "Scalar"):
            return PortType((), coder=self)
        if self.kind == "Class":
            if self.unit_vector:
                return PortType((self.count,), coder=self)
            return PortType((), integer=True, classes=self.count, coder=self)
        length = self.target_length or LengthVar()   # "TargetLength" -> All: "Varying"
        if self.unit_vector:
            return PortType((length, self.count), coder=self)
        return PortType((length,), integer=True, classes=self.count, coder=self)

    # -- encoding ---------------------------------------------------------------------
    def is_batch(self, data: Any) -> bool:
        """Whether ``data`` is a list of examples rather than one example."""
        if isinstance(data, (list, tuple)):   # from Python
            return True
        if self.kind in ("Characters", "Tokens", "Scalar", "Boolean"):
            # a list is a batch; anything else is one example, which the encoder accepts
            # or names in its error (True given to a "Characters" encoder)
            return is_list(data) or isinstance(data, np.ndarray)
        return (is_list(data) or isinstance(data, np.ndarray)) and \
            _key(data if not isinstance(data, np.ndarray) else None) not in self._index()

    def encode(self, data: Any, port: str = "Input", head: str = "NetEncoder") -> np.ndarray:
        """One example or a list of them -> an array (batch-first for a list)."""
        if not self.is_batch(data):
            return self.encode_batch([data], port, head)[0]
        items = data.tolist() if isinstance(data, np.ndarray) else list(data) \
            if isinstance(data, (list, tuple)) else list_items(data)
        if not items:
            raise coder_error(head, "Empty inputs are not permitted.", tag="netemptin")
        return self.encode_batch(items, port, head)

    def encode_batch(self, items: list, port: str, head: str) -> np.ndarray:
        if self.kind == "Scalar":
            try:
                return np.asarray(to_ndarray(make_list(items)), np.float32)
            except TypeError:
                raise self._fail(next(x for x in items if not is_number(x)), port, head,
                                 "is not a number") from None
        if self.kind == "Boolean":
            out = np.empty(len(items), np.float32)
            t = np.fromiter((x is S("True") or x is True for x in items), bool, len(items))
            f = np.fromiter((x is S("False") or x is False for x in items), bool, len(items))
            if not (t | f).all():
                raise self._fail(items[int(np.argmin(t | f))], port, head,
                                 "is not True or False")
            out[:] = t
            return out
        if self.kind == "Class":
            return self._encode_classes(items, port, head)
        return self._encode_text(items, port, head)

    def mapped_over(self, levels: int) -> "NetEncoder":
        """The encoder for {"Varying", encoder}: it encodes each element, as it is."""
        if self.kind not in ("Class", "Boolean", "Scalar"):
            raise ValueError(f'a "{self.kind}" encoder cannot be mapped over a sequence')
        return self

    def numeric_labels(self) -> bool:
        """Whether this is a "Class" encoder whose labels are all numbers: numeric data are
        then labels to look up, not class indices (NetEncoder[{"Class", {0, 1}}][0] is 1)."""
        return self.kind == "Class" and bool(self.labels) and all(
            isinstance(k, (int, float)) and not isinstance(k, bool) for k in self.labels or ())

    def encode_numbers(self, x: np.ndarray, port: str, head: str) -> np.ndarray:
        """Numeric labels (any shape: one, a batch, a sequence) -> their indices, in one
        sorted search; for encoders whose ``numeric_labels`` holds."""
        idx = _numeric_positions(self.labels or (), x)
        bad = idx == 0
        if bad.any():
            raise self._fail(to_atom(x[bad].flat[0].item()), port, head,
                             f"is not one of {input_form(make_list(self.labels or ()))}")
        if self.unit_vector:
            return np.eye(len(self.labels or ()), dtype=np.float32)[idx - 1]
        return idx

    def _index(self) -> dict:
        index = self.__dict__.get("_lookup")
        if index is None:
            index = {k: i for i, k in enumerate(self.labels or (), 1)}
            object.__setattr__(self, "_lookup", index)
        return index

    def _encode_classes(self, items: list, port: str, head: str) -> np.ndarray:
        if self.labels is None:   # NetEncoder["Class"]: the data are indices already
            if not all(is_integer(x) for x in items):
                raise self._fail(next(x for x in items if not is_integer(x)), port, head,
                                 "is not a class index (the encoder has no labels)")
            return np.asarray(items, np.int64)
        if any(is_list(x) for x in items) and not any(is_list(k) for k in self.labels):
            # {"Varying", NetEncoder[{"Class", ...}]}: each example a sequence of labels
            return _per_example([self._encode_classes(list_items(x) if is_list(x) else [x],
                                                      port, head) for x in items])
        if all(is_integer(x) for x in items) and not any(is_integer(k) for k in self.labels):
            return np.asarray(items, np.int64)   # already indices (Wolfram's AllowBypass)
        idx = _lookup(self.labels, self._index(), [_key(x) for x in items])
        bad = idx == 0
        if bad.any():
            raise self._fail(items[int(np.argmax(bad))], port, head,
                             f"is not one of {input_form(make_list(self.labels))}")
        if self.unit_vector:
            return np.eye(len(self.labels), dtype=np.float32)[idx - 1]
        return idx

    def _encode_text(self, items: list, port: str, head: str) -> np.ndarray:
        """Strings -> index sequences: a regular array when they have one length, else a
        1-d object array of per-example arrays; one-hot vectors for "UnitVector"."""
        for text in items:
            if not is_string(text):
                raise self._fail(text, port, head, "is not a string")
        if self.chars is not None:
            parts, bad = encode_strings(self.chars, items, self.ignore_case)
            if bad >= 0:
                c = bad_character(self.chars, items[bad], self.ignore_case)
                raise self._fail(items[bad], port, head, f'contains the character "{c}", '
                                                         f"which is not in the encoder's table")
        else:
            parts = []
            for text in items:    # one Python step per string: splitting into words
                words = _TOKEN_SPLIT.findall(text.lower() if self.ignore_case else text)
                idx = _lookup(self.labels or (), self._index(), words)
                idx[idx == 0] = self.count           # unknown token -> n + 1
                parts.append(idx)
        return self._assemble(parts)

    def _assemble(self, parts: list[np.ndarray]) -> np.ndarray:
        n = self.target_length
        out: np.ndarray
        if n is not None:
            out = np.full((len(parts), n), self.count, np.int64)   # padding uses the count
            for i, p in enumerate(parts):
                out[i, :min(len(p), n)] = p[:n]
        elif len({len(p) for p in parts}) == 1:
            out = np.stack(parts).astype(np.int64, copy=False)
        else:
            out = np.empty(len(parts), dtype=object)
            for i, p in enumerate(parts):
                out[i] = self._one_hot(p) if self.unit_vector else p
            return out
        return self._one_hot(out) if self.unit_vector else out

    def _one_hot(self, idx: np.ndarray) -> np.ndarray:
        return np.eye(self.count or 0, dtype=np.float32)[idx - 1]

    def _fail(self, x: Any, port: str, head: str, why: str) -> EvaluationError:
        return coder_error(head, f'The data for port "{port}" could not be encoded by '
                                 f'the "{self.kind}" encoder: {short_form(x)} {why}.',
                           tag="netinvin")

    # -- display -------------------------------------------------------------------
    def expr(self) -> Any:
        if self.kind in ("Boolean", "Scalar") or (self.kind == "Class" and self.labels is None):
            return Expr(S("NetEncoder"), self.kind)
        if self.kind == "Characters" and self.table is S("Automatic") and not (
                self.unit_vector or self.ignore_case or self.target_length):
            return Expr(S("NetEncoder"), self.kind)
        labels: Any = self.table if self.kind == "Characters" else make_list(self.labels or ())
        items = [self.kind, labels]
        if self.unit_vector:
            items.append("UnitVector")
        if self.kind in ("Characters", "Tokens"):
            if self.ignore_case != (self.kind == "Tokens"):
                items.append(Expr(S("Rule"), "IgnoreCase", boolean(self.ignore_case)))
            if self.target_length is not None:
                items.append(Expr(S("Rule"), "TargetLength", self.target_length))
        return Expr(S("NetEncoder"), make_list(items))

    def input_form(self) -> str:
        return input_form(self.expr())

    def words(self) -> str:
        if self.kind == "Class":
            return f"class ({self.count} labels)" if self.labels else "class"
        if self.unit_vector and self.kind == "Characters":
            return f"characters encoded as one-hot vectors of size {self.count}"
        if self.kind in ("Characters", "Tokens"):
            return f"{self.kind.lower()} encoded as indices in 1..{self.count}"
        return self.kind.lower()

    def output_form(self) -> str:
        return f"NetEncoder[{self.kind}, {self.words()}]"

    def __hash__(self) -> int:
        return hash((self.kind, self.labels, self.ignore_case, self.target_length,
                     self.unit_vector, self.chars))


def _lookup(labels: tuple, index: dict, keys: list) -> np.ndarray:
    """1-based positions of ``keys`` among ``labels`` (0 where absent). Strings go through
    NumPy's sorted search, other labels through the dictionary."""
    if keys and labels and all(isinstance(x, str) for x in labels) \
            and all(isinstance(k, str) for k in keys):
        sorted_labels = np.array(labels)
        order = np.argsort(sorted_labels, kind="stable")
        sorted_labels = sorted_labels[order]
        arr = np.array(keys)
        pos = np.searchsorted(sorted_labels, arr).clip(0, len(labels) - 1)
        hit = sorted_labels[pos] == arr
        return np.where(hit, order[pos] + 1, 0).astype(np.int64)
    return np.fromiter((index.get(k, 0) if _hashable(k) else 0 for k in keys), np.int64,
                       len(keys))


def _nest(values: list, shape: tuple) -> list:
    """A flat list of len prod(shape) as nested lists: a list of shape[0] items, each
    nested by shape[1:] as language lists."""
    for n in reversed(shape[1:]):
        values = [make_list(values[i:i + n]) for i in range(0, len(values), n)]
    return values


SAMPLING = {"Temperature": 1.0, "TopProbabilities": None, "TotalProbabilityCutoff": None}


def _sampling(prop: Any, head: str) -> dict | None:
    """The settings of a "RandomSample" property, or None for another property:
    "RandomSample", {"RandomSample", t} (a temperature), {"RandomSample", "param" -> v,
    ...} or {"RandomSample", <|...|>} / {"RandomSample", {rules}}."""
    if prop == "RandomSample":
        return dict(SAMPLING)
    items = list_items(prop) if is_list(prop) else None
    if not items or items[0] != "RandomSample":
        return None
    rest = items[1:]
    if len(rest) == 1 and isinstance(rest[0], Association):
        rest = [Expr(S("Rule"), k, v) for k, v in rest[0].items()]
    elif len(rest) == 1 and is_list(rest[0]):
        rest = list_items(rest[0])
    how = dict(SAMPLING)
    if len(rest) == 1 and is_number(rest[0]):
        rest = [Expr(S("Rule"), "Temperature", rest[0])]
    for r in rest:
        if not (isinstance(r, Expr) and r.head in (S("Rule"), S("RuleDelayed"))
                and r.args[0] in SAMPLING):
            raise coder_error(head, f'{input_form(r)} is not a "RandomSample" setting; give '
                                    f'a temperature or "Temperature", "TopProbabilities" or '
                                    f'"TotalProbabilityCutoff" -> value.', tag="invprop")
        key, v = r.args
        ok = (key == "Temperature" and is_number(v) and not isinstance(v, bool) and v > 0
              or key == "TopProbabilities" and is_integer(v) and v >= 1
              or key == "TotalProbabilityCutoff" and is_number(v) and 0 < v <= 1)
        if not ok:
            want = {"Temperature": "a positive number", "TopProbabilities": "a positive integer",
                    "TotalProbabilityCutoff": "a number in (0, 1]"}[key]
            raise coder_error(head, f'"{key}" -> {input_form(v)} should be {want}.',
                              tag="invprop")
        how[key] = float(v) if key != "TopProbabilities" else int(v)
    return how


def _per_example(parts: list[np.ndarray]) -> np.ndarray:
    """One array when the examples' arrays have one shape, else a 1-d object array of them
    (sequences of different lengths)."""
    if len({p.shape for p in parts}) == 1:
        return np.stack(parts)
    out = np.empty(len(parts), dtype=object)
    for i, p in enumerate(parts):
        out[i] = p
    return out


def _numeric_positions(labels: tuple, x: np.ndarray) -> np.ndarray:
    """1-based positions of the numbers in ``x`` among numeric ``labels`` (0 where absent;
    compared by value, so 1.0 finds the label 1), shaped as ``x``."""
    values = np.asarray([float(k) for k in labels])
    order = np.argsort(values, kind="stable")      # the first of equal labels wins
    ordered = values[order]
    flat = np.asarray(x, dtype=np.float64)
    pos = np.searchsorted(ordered, flat).clip(0, len(ordered) - 1)
    return np.where(ordered[pos] == flat, order[pos] + 1, 0).astype(np.int64)


def _hashable(k: Any) -> bool:
    try:
        hash(k)
    except TypeError:
        return False
    return True


def short_form(x: Any) -> str:
    text = input_form(x)
    return text if len(text) <= 60 else text[:57] + "..."


# ---------------------------------------------------------------- decoders
@dataclass(frozen=True, eq=True)
class NetDecoder(Opaque):
    """A decoder on an output port: "Class" (labels), "Boolean", "Scalar" (a 1-vector as
    a number), "Characters" and "Tokens" (a sequence of probability vectors as a string:
    the most probable character, or token, at each position; tokens joined by spaces)."""

    kind: str
    labels: tuple | None = None
    depth: int | None = None   # "InputDepth": the input's rank (None: 1 for "Class", 0
    #                            for "Boolean"); the levels above the last are mapped over
    table: Any = None          # "Characters": the table as given (for printing)
    ignore_case: bool = False  # "Tokens": lower-case the decoded tokens (Wolfram's default)
    beam: int = 100            # "CTCBeamSearch": its "BeamSize" (ctc_decoder.py)

    head_name = "NetDecoder"

    @classmethod
    def build(cls, args: tuple) -> "NetDecoder":
        head = "NetDecoder"
        kind, params, rules = _split_spec(args, head)
        if kind not in DECODER_KINDS:
            raise coder_error(head, f'"{kind}" is not a decoder netdsl has; it has '
                                    f"{', '.join(DECODER_KINDS)}.",
                              tag="unsupported" if kind in _OUT_OF_SCOPE else "invcoder")
        if kind in ("Scalar", "Characters", "Tokens"):
            return cls._text_or_scalar(kind, params, rules, head)
        if kind == "CTCBeamSearch":        # {"CTCBeamSearch", alphabet, "BeamSize" -> n}
            from .ctc_decoder import read_beam_size
            if len(params) != 1:
                raise coder_error(head, 'The "CTCBeamSearch" decoder needs its alphabet: '
                                        'NetDecoder[{"CTCBeamSearch", {...}}].')
            return cls(kind, _labels(params[0], head), beam=read_beam_size(rules, head))
        depth = None
        labels_rule = [r for r in rules if r.args[0] == "Labels"]   # "Labels" -> {...}
        if labels_rule and not params and kind == "Class":
            params = [labels_rule[-1].args[1]]
            rules = [r for r in rules if r.args[0] != "Labels"]
        for rule in rules:
            name, value = rule.args
            if name != "InputDepth":
                raise coder_error(head, f"{input_form(name)} is not an option of the "
                                        f'"{kind}" decoder; it has "InputDepth".')
            low = 0 if kind == "Boolean" else 1
            if not is_integer(value) or not low <= value <= 8:
                raise coder_error(head, f'"InputDepth" should be an integer from {low} to 8, '
                                        f"not {input_form(value)}.")
            depth = None if value == low else int(value)
        if kind == "Boolean":
            if params:
                raise coder_error(head, 'The "Boolean" decoder takes no parameters.')
            return cls(kind, None, depth)
        if len(params) > 1:
            raise coder_error(head, 'The "Class" decoder takes {"Class", {labels}}.')
        return cls(kind, _labels(params[0], head) if params else None, depth)

    @classmethod
    def _text_or_scalar(cls, kind: str, params: list, rules: list, head: str) -> "NetDecoder":
        if kind == "Scalar":
            if params or rules:
                raise coder_error(head, 'The "Scalar" decoder takes no parameters.')
            return cls(kind)
        if kind == "Characters":
            if len(params) > 1 or rules:
                raise coder_error(head, 'The "Characters" decoder takes {"Characters", '
                                        'table}.')
            table = params[0] if params else S("Automatic")
            try:
                chars = build_table(table, False)
            except TableError as e:
                raise coder_error(head, f"Invalid character table: {e}.") from None
            return cls(kind, chars.codes, table=table)
        if len(params) != 1:
            raise coder_error(head, 'The "Tokens" decoder needs its tokens: NetDecoder[{"Tokens", '
                                    '{...}}] (netdsl has no built-in vocabulary).')
        opts = _options(rules, {"IgnoreCase": S("True")}, head, kind)
        labels = _labels(params[0], head)
        if not all(isinstance(x, str) for x in labels):
            raise coder_error(head, 'The tokens of a "Tokens" decoder must be strings.')
        return cls(kind, labels, ignore_case=_bool_option(opts["IgnoreCase"], "IgnoreCase",
                                                          head))

    def mapped_over(self, levels: int) -> "NetDecoder":
        """The decoder for {"Varying", decoder}: one decision per element, as "InputDepth"
        one level deeper per level mapped over."""
        if self.kind not in ("Class", "Boolean"):
            raise ValueError(f'a "{self.kind}" decoder cannot be mapped over a sequence')
        low = 1 if self.kind == "Class" else 0
        return NetDecoder(self.kind, self.labels, (self.depth or low) + levels, self.table,
                          self.ignore_case)

    @property
    def mapped(self) -> int:
        """The levels of an example above what one decision reads (InputDepth - 1 for
        "Class", InputDepth for "Boolean")."""
        if self.depth is None:
            return 0
        return self.depth - (self.kind == "Class")

    def port_type(self) -> Any:
        if self.kind == "Scalar":
            return PortType((1,), coder=self)
        if self.kind == "CTCBeamSearch":              # probability vectors, the blank last
            return PortType((None, len(self.labels or ()) + 1), coder=self)
        if self.kind in ("Characters", "Tokens"):     # a sequence of probability vectors
            return PortType((None, len(self.labels or ())), coder=self)
        lead = (None,) * self.mapped
        if self.kind == "Boolean":
            return PortType(lead, coder=self)
        return PortType(lead + (None if self.labels is None else len(self.labels),), coder=self)

    def labels_for(self, n: int) -> tuple:
        return self.labels if self.labels is not None else tuple(range(1, n + 1))

    # -- properties -----------------------------------------------------------------
    def is_property(self, x: Any) -> bool:
        if self.kind == "CTCBeamSearch":
            from .ctc_decoder import parse_property
            return parse_property(x) is not None
        if self.kind in ("Scalar", "Characters", "Tokens"):
            return x == "Decision"
        if isinstance(x, str):
            return x in DECODER_PROPERTIES or x == "RandomSample" or \
                self.kind == "Boolean" and x == "Probability"
        if is_list(x):
            items = list_items(x)
            return len(items) == 2 and items[0] in ("Probabilities", "Probability",
                                                    "TopProbabilities", "TopDecisions") \
                or len(items) >= 2 and items[0] == "RandomSample"
        return False

    def decode(self, y: np.ndarray, prop: Any = "Decision", head: str = "NetDecoder",
               rng: Any = None) -> list:
        """Batch-first outputs -> one decoded value per example (``rng``: for
        "RandomSample", a seed, a Generator, or None for fresh draws; a Generator is made
        only when sampling)."""
        if self.mapped:          # "InputDepth": decide per position, nest as the levels
            if y.dtype == object:    # sequences of different lengths
                stream = np.random.default_rng(rng)   # (one stream for all the sequences)
                return [self.decode(e[None], prop, head, stream)[0] for e in y]
            lead = y.shape[:1 + self.mapped]
            flat = y.reshape((-1,) + y.shape[1 + self.mapped:])
            values = NetDecoder(self.kind, self.labels).decode(flat, prop, head, rng)
            return _nest(values, lead)
        if self.kind == "Scalar":
            return [to_atom(float(v)) for v in y.reshape(y.shape[0], -1)[:, 0]]
        if self.kind == "CTCBeamSearch":
            from .ctc_decoder import decode_batch
            return decode_batch(y, self.labels or (), self.beam, prop, head)
        if self.kind in ("Characters", "Tokens"):
            return [self._text(np.asarray(e)) for e in y]
        sample = _sampling(prop, head)
        if sample is not None:
            return self._random_sample(y, sample, np.random.default_rng(rng))
        if self.kind == "Boolean":
            return self._decode_boolean(y, prop, head)
        probs = y.reshape(y.shape[0], -1)
        labels = self.labels_for(probs.shape[1])
        name, arg = (prop, None) if isinstance(prop, str) else tuple(list_items(prop))
        if name == "Decision":
            return [labels[i] for i in np.argmax(probs, axis=1)]
        if name == "Probabilities" and arg is None:
            return [Association((k, to_atom(float(p)), False) for k, p in zip(labels, row))
                    for row in probs]
        if name in ("Probabilities", "Probability"):
            if _key(arg) not in labels:
                raise coder_error(head, f"{input_form(arg)} is not one of the decoder's "
                                        f"labels {input_form(make_list(labels))}.",
                                  tag="invprop")
            col = probs[:, labels.index(_key(arg))]
            return [to_atom(float(p)) for p in col]
        if name == "Entropy":
            p = np.where(probs > 2 * np.finfo(np.float64).eps, probs.astype(np.float64), 1.0)
            return [to_atom(float(e)) for e in -(p * np.log(p)).sum(axis=1)]
        order = np.argsort(-probs, axis=1, kind="stable")
        if name == "TopProbabilities" and arg is None:
            out = []
            for row, o in zip(probs, order):
                keep = [j for j in o if row[j] > 0.1 * row[o[0]]]
                out.append(make_list(_rule(labels[j], float(row[j])) for j in keep))
            return out
        if not is_integer(arg) or not 1 <= arg <= len(labels):
            raise coder_error(head, f'{{"{name}", {input_form(arg)}}} needs a count between 1 '
                                    f"and {len(labels)}.", tag="invprop")
        if name == "TopDecisions":
            return [make_list(labels[j] for j in o[:arg]) for o in order]
        return [make_list(_rule(labels[j], float(row[j])) for j in o[:arg])
                for row, o in zip(probs, order)]

    def _text(self, probs: np.ndarray) -> str:
        """One example's probability vectors (or one vector) as its string."""
        assert self.labels is not None
        picks = np.argmax(probs.reshape(-1, probs.shape[-1]), axis=1)
        if self.kind == "Characters":      # a code's first character; virtual codes: none
            return "".join(self.labels[i][:1] for i in picks)
        words = [self.labels[i] for i in picks]
        return " ".join(w.lower() for w in words) if self.ignore_case else " ".join(words)

    def _random_sample(self, y: np.ndarray, how: dict, rng: np.random.Generator) -> list:
        """One class per example drawn from its probabilities, reshaped as "RandomSample"
        asks: at a "Temperature" t (p^(1/t), renormalised), among the "TopProbabilities" k
        most likely, or the most likely whose total reaches "TotalProbabilityCutoff"."""
        if self.kind == "Boolean":
            p = np.clip(y.reshape(y.shape[0]).astype(np.float64), 0.0, 1.0)
            probs, labels = np.stack([p, 1 - p], axis=1), (S("True"), S("False"))
        else:
            probs = np.clip(y.reshape(y.shape[0], -1).astype(np.float64), 0.0, None)
            labels = self.labels_for(probs.shape[1])
        t = how["Temperature"]
        if t != 1:
            with np.errstate(divide="ignore"):
                logits = np.log(probs) / t
            logits -= logits.max(axis=1, keepdims=True)
            probs = np.exp(logits)
        order = np.argsort(-probs, axis=1, kind="stable")
        ranked = np.take_along_axis(probs, order, axis=1)
        ranked /= ranked.sum(axis=1, keepdims=True)
        keep = np.ones_like(ranked, dtype=bool)
        if how["TopProbabilities"] is not None:
            keep[:, how["TopProbabilities"]:] = False
        if how["TotalProbabilityCutoff"] is not None:   # the first classes reaching it
            before = np.cumsum(ranked, axis=1) - ranked     # (float32 inputs: 1e-6 slack)
            keep &= before < how["TotalProbabilityCutoff"] - 1e-6
            keep[:, 0] = True
        ranked = np.where(keep, ranked, 0.0)
        cdf = np.cumsum(ranked, axis=1)
        u = rng.random(len(cdf)) * cdf[:, -1]
        pick = np.minimum((cdf <= u[:, None]).sum(axis=1), cdf.shape[1] - 1)
        return [labels[int(order[i, j])] for i, j in enumerate(pick)]

    def _decode_boolean(self, y: np.ndarray, prop: Any, head: str) -> list:
        p = y.reshape(y.shape[0])
        if prop == "Decision":
            return [boolean(bool(v)) for v in p > 0.5]
        if prop == "Probabilities":
            return [Association(((S("True"), to_atom(float(v)), False),
                                 (S("False"), to_atom(float(1 - v)), False))) for v in p]
        if prop == "Probability":       # of True
            return [to_atom(float(v)) for v in p]
        if prop == "Entropy":
            q = np.clip(p.astype(np.float64), 0.0, 1.0)
            with np.errstate(divide="ignore", invalid="ignore"):
                e = -(np.where(q > 0, q * np.log(q), 0.0)
                      + np.where(q < 1, (1 - q) * np.log(1 - q), 0.0))
            return [to_atom(float(v)) for v in e]
        raise coder_error(head, f'{input_form(prop)} is not a property of the "Boolean" '
                                f'decoder; it has "Decision", "Probability", "Probabilities" '
                                f'and "Entropy".', tag="invprop")

    def target_indices(self, data: Any, port: str, head: str) -> np.ndarray:
        """Training targets given as labels -> class indices 1..n (or 0/1 for Boolean)."""
        if isinstance(data, np.ndarray) and data.dtype.kind in "iuf":
            if self.kind == "Scalar" and data.ndim == 1:   # a packed list of numbers: each
                return data.astype(np.float32).reshape(-1, 1)   # is the decoder's {x}
            enc = NetEncoder("Class", self.labels)
            if self.kind == "Class" and enc.numeric_labels() and data.ndim == 1 + self.mapped:
                return enc.encode_numbers(data, port, head)   # labels such as Range[0, 9]
            return data
        items = data.tolist() if isinstance(data, np.ndarray) else list_items(data) \
            if is_list(data) else None
        if items is None:
            raise coder_error(head, f'The targets for port "{port}" must be a list.',
                              tag="datafmt")
        if self.kind == "Scalar":
            if not all(is_number(x) for x in items):
                bad = next(x for x in items if not is_number(x))
                raise coder_error(head, f'The targets for port "{port}" must be numbers for its '
                                        f'"Scalar" decoder; {short_form(bad)} is not.',
                                  tag="netinvin")
            return np.asarray(to_ndarray(make_list(items)), dtype=np.float32).reshape(-1, 1)
        if self.kind == "Characters":        # strings: a code per character
            enc = NetEncoder._characters([self.table], [], head)
            return enc.encode_batch(items, port, head)
        if self.kind == "Tokens":
            enc = NetEncoder("Tokens", self.labels, self.ignore_case)
            return enc.encode_batch(items, port, head)
        if self.mapped and all(is_list(x) for x in items):   # a level of positions
            return _per_example([self.target_indices(x, port, head) for x in items])
        if self.kind == "Boolean":
            return NetEncoder("Boolean").encode_batch(items, port, head)
        if self.labels is None:
            return np.asarray(to_ndarray(make_list(items)))
        enc = NetEncoder("Class", self.labels)
        keys = [_key(x) for x in items]
        if not any(k in enc._index() for k in keys if _hashable(k)) and \
                all(is_integer(k) or is_list(k) or isinstance(k, float) for k in keys):
            try:
                return np.asarray(to_ndarray(make_list(items)))  # indices or probabilities
            except TypeError:   # a sequence of labels per example (a "Varying" output)
                return _per_example([self.target_indices(x, port, head) for x in items])
        return enc._encode_classes(items, port, head)

    def expr(self) -> Any:
        if self.kind == "CTCBeamSearch":
            beam = [] if self.beam == 100 else [Expr(S("Rule"), "BeamSize", self.beam)]
            return Expr(S("NetDecoder"), make_list(["CTCBeamSearch",
                                                    make_list(self.labels or ()), *beam]))
        if self.kind == "Characters":
            return Expr(S("NetDecoder"), make_list(["Characters", self.table]))
        if self.kind == "Tokens":
            case = [] if self.ignore_case else [Expr(S("Rule"), "IgnoreCase", S("False"))]
            return Expr(S("NetDecoder"), make_list(["Tokens", make_list(self.labels or ()),
                                                    *case]))
        depth = [] if self.depth is None else [Expr(S("Rule"), "InputDepth", self.depth)]
        if self.labels is None and not depth:
            return Expr(S("NetDecoder"), self.kind)
        labels = [] if self.labels is None else [make_list(self.labels)]
        return Expr(S("NetDecoder"), make_list([self.kind, *labels, *depth]))

    def input_form(self) -> str:
        return input_form(self.expr())

    def words(self) -> str:
        if self.kind == "Boolean":
            return "boolean"
        if self.kind == "Scalar":
            return "real number"
        if self.kind == "CTCBeamSearch":
            return f"CTC beam search ({len(self.labels or ())} labels, beam {self.beam})"
        if self.kind in ("Characters", "Tokens"):
            return f"string ({len(self.labels or ())} {self.kind.lower()})"
        return f"class ({len(self.labels)} labels)" if self.labels else "class"

    def output_form(self) -> str:
        return f"NetDecoder[{self.kind}, {self.words()}]"

    def __hash__(self) -> int:
        return hash((self.kind, self.labels, self.depth, self.ignore_case, self.beam))


def _rule(k: Any, v: float) -> Expr:
    return Expr(S("Rule"), k, to_atom(v))


def decoded(dec: NetDecoder, y: np.ndarray, batched: bool, prop: Any = "Decision",
            head: str = "NetDecoder", rng: Any = None) -> Any:
    """Batch-first outputs -> the language value: one result, or a list for a batch."""
    values = dec.decode(y, prop, head, rng)
    return make_list(values) if batched else values[0]


def _read_spec(spec: Expr) -> Any:
    """An unevaluated NetEncoder[...] / NetDecoder[...] port spec -> its port type."""
    cls = NetEncoder if spec.head.name == "NetEncoder" else NetDecoder
    try:
        return cls.build(spec.args).port_type()
    except EvaluationError as e:
        raise ValueError(e.text) from None


SPEC_READERS.update(NetEncoder=_read_spec, NetDecoder=_read_spec)
