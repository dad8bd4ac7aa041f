"""Net files: a net's arrays as a standard safetensors file, its architecture as text.

Layout (a plain safetensors file that any safetensors reader opens):

- one float32 tensor per array, named by its NetExtract path joined with "/":
  ``1/Weights``, ``conv/Biases``, ``block/bn/MovingMean``; a shared array is
  ``shared/<name>``; a layer alone has just ``Weights``;
- metadata: ``format`` = ``netdsl-net``, ``format_version`` = ``1``, ``netdsl_version``,
  and ``net``: the architecture as netdsl text, ``InputForm[NetInitialize[net, None]]``
  (ports, options, names, containers and NetSharedArray references, no numbers).

Reading never trusts the file: the header is checked against the file's size, every
tensor's dtype, shape and byte range against each other, and the total against the
memory budget before any tensor is read; the architecture is built without the
evaluator (``construct.py``), then the arrays are bound with NetReplacePart's checks.
The file is never unpickled or evaluated.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .. import budget
from ..errors import EvaluationError, NetDSLError
from ..expr import Association, input_form, packed
from ..graph.edit import replace_arrays
from ..layers.arrays import NO_ARRAY, SharedRef
from ..layers.base import AbstractArray, Net
from ..runtime.initialize import initialize
from ..version import __version__
from .construct import net_from_text

FORMAT = "netdsl-net"
FORMAT_VERSION = "1"
SHARED = "shared/"
MAX_HEADER = 100 * 2 ** 20          # safetensors' own limit on the JSON header

# safetensors dtype -> NumPy dtype (BF16 and the FP8 types have no NumPy dtype)
DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64,
          "I32": np.int32, "I16": np.int16, "I8": np.int8, "U64": np.uint64,
          "U32": np.uint32, "U16": np.uint16, "U8": np.uint8, "BOOL": np.bool_}
ELEMENTS = ("Net", "UninitializedNet", "ArrayAssociation")


def _error(text: str, symbol: str = "Import", tag: str = "fmterr") -> EvaluationError:
    return EvaluationError(text, symbol=symbol, tag=tag)


# ---------------------------------------------------------------- names
def tensor_names(net: Net) -> dict[str, tuple]:
    """Tensor name -> where its array lives: ``(path, array name)`` or ``("shared", name)``,
    for every array slot of the net (set or not), shared arrays once."""
    names: dict[str, tuple] = {}

    def add(name: str, where: tuple) -> None:
        if name in names and names[name] != where:
            raise _error(f'Two arrays of the net would both be saved as "{name}" (a layer name '
                         f'contains "/"); rename the layer.', "Export", "nameclash")
        names[name] = where

    for path, layer in net.leaves():
        for spec in layer.array_specs:
            v = layer.arrays.get(spec.name)
            if isinstance(v, SharedRef):
                add(SHARED + v.name, ("shared", v.name))
            elif v is not NO_ARRAY:
                add("/".join([*path, spec.name]), (path, spec.name))
    for name in net.shared:
        add(SHARED + name, ("shared", name))
    return names


def architecture(net: Net) -> str:
    """The net's netdsl text without its numbers (``NetInitialize[net, None]``)."""
    return input_form(initialize(net, "none"))


# ---------------------------------------------------------------- writing
def save_net(net: Net, path: str | os.PathLike, where: str | None = None) -> None:
    """Write ``net`` to ``path`` as a netdsl safetensors file (replacing it atomically)."""
    where = where or str(path)
    tensors: dict[str, np.ndarray] = {}
    for name, slot in tensor_names(net).items():
        if slot[0] == "shared":
            value = net.shared.get(slot[1])
        else:
            value = _leaf(net, slot[0]).arrays.get(slot[1])
        if isinstance(value, AbstractArray):
            raise _error(f"The net has no numbers to write to {where} (its arrays are "
                         f"placeholders).", "Export", "abstract")
        if isinstance(value, np.ndarray):
            tensors[name] = np.require(value, np.float32, "C")  # keeps rank 0
    metadata = {"format": FORMAT, "format_version": FORMAT_VERSION,
                "netdsl_version": __version__, "net": architecture(net)}
    write_tensors(tensors, path, metadata, where)


def write_tensors(tensors: dict[str, np.ndarray], path: str | os.PathLike,
                  metadata: dict[str, str] | None, where: str) -> None:
    """A safetensors file, written to a temporary file first: a reader (or a crash
    mid-write of a checkpoint) never sees half a file."""
    from safetensors.numpy import save_file
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=".netdsl-", suffix=".tmp", dir=target.parent or ".")
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=metadata)
        os.replace(tmp, target)
    except OSError as e:
        raise _error(f"Cannot write {where}: {e.strerror or e}.", "Export", "noopen") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _leaf(net: Net, path: tuple) -> Any:
    for p, layer in net.leaves():
        if p == path:
            return layer
    raise KeyError(path)  # pragma: no cover


# ---------------------------------------------------------------- reading
class Header:
    """A validated safetensors header: tensors (name -> (dtype, shape)) and metadata."""

    def __init__(self, tensors: dict[str, tuple[str, tuple[int, ...]]], metadata: dict[str, str]):
        self.tensors = tensors
        self.metadata = metadata

    @property
    def is_net(self) -> bool:
        return self.metadata.get("format") == FORMAT and "net" in self.metadata


def read_header(path: str | os.PathLike, where: str) -> Header:
    """The header of a safetensors file, every claim checked before anything is read."""
    def bad(why: str) -> EvaluationError:
        return _error(f"{where} is not a valid safetensors file: {why}.")

    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size < 8:
            raise bad(f"it has {size} bytes, fewer than the 8 of the header length")
        (n,) = struct.unpack("<Q", fh.read(8))
        if n > size - 8 or n > MAX_HEADER:
            raise bad(f"its header claims {n:,} bytes, but the file has {size - 8:,} after "
                      f"the length" if n > size - 8 else f"its header claims {n:,} bytes")
        raw = fh.read(n)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise bad("its header is not JSON") from None
    if not isinstance(header, dict):
        raise bad("its header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise bad("its metadata is not a map of strings to strings")
    data = size - 8 - n
    tensors: dict[str, tuple[str, tuple[int, ...]]] = {}
    ranges = []
    total = 0
    for name, info in header.items():
        if not isinstance(info, dict):
            raise bad(f'the entry of tensor "{name}" is not an object')
        dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if dtype not in DTYPES:
            kinds = "bfloat16 and 8-bit floats have no NumPy type" if isinstance(dtype, str) \
                else "not a dtype name"
            raise bad(f'tensor "{name}" has dtype {json.dumps(dtype)[:40]} ({kinds}); netdsl '
                      f"reads {', '.join(DTYPES)}")
        if not (isinstance(shape, list) and all(_int(d) and d >= 0 for d in shape)):
            raise bad(f'tensor "{name}" has shape {json.dumps(shape)[:60]}, not a list of '
                      f"non-negative integers")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(_int, offsets))
                and 0 <= offsets[0] <= offsets[1] <= data):
            raise bad(f'tensor "{name}" claims bytes {json.dumps(offsets)[:60]}, outside the '
                      f"{data:,} bytes of data")
        count = 1
        for d in shape:
            count *= d
        nbytes = count * np.dtype(DTYPES[dtype]).itemsize
        if nbytes != offsets[1] - offsets[0]:
            raise bad(f'tensor "{name}" of shape {shape} and dtype {dtype} needs {nbytes:,} '
                      f"bytes but claims {offsets[1] - offsets[0]:,}")
        total += nbytes
        ranges.append(tuple(offsets))
        tensors[name] = (dtype, tuple(shape))
    ranges.sort()
    for (_, end), (begin, _) in zip(ranges, ranges[1:]):
        if begin < end:
            raise bad("two tensors claim the same bytes")
    budget.check_bytes(total, f"the {len(tensors)} arrays of {where}")
    return Header(tensors, metadata)


def _int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def read_arrays(path: str | os.PathLike, header: Header, where: str) -> dict[str, np.ndarray]:
    """Every tensor of a checked file, by name, as read-only NumPy arrays."""
    from safetensors import SafetensorError, safe_open
    out: dict[str, np.ndarray] = {}
    try:
        with safe_open(str(path), framework="numpy") as f:
            for name in header.tensors:
                a = np.require(f.get_tensor(name), requirements="C")
                a.flags.writeable = False
                out[name] = a
    except (SafetensorError, OSError, ValueError) as e:
        raise _error(f"{where} is not a valid safetensors file: {e}.") from None
    return out


def load(path: str | os.PathLike, element: str = "Automatic", where: str | None = None) -> Any:
    """``Import[file]``: a net for a netdsl file, else an association of arrays.

    ``element``: "Net", "UninitializedNet" (the architecture only), "ArrayAssociation"
    (the tensors by name, for any safetensors file), or "Automatic"."""
    where = where or str(path)
    header = read_header(path, where)
    if element == "Automatic":
        element = "Net" if header.is_net else "ArrayAssociation"
    if element == "ArrayAssociation":
        arrays = read_arrays(path, header, where)
        return Association((k, packed(v) if v.ndim else v.item(), False)
                           for k, v in arrays.items())
    if not header.is_net:
        raise _error(f"{where} holds no netdsl net (its metadata has no netdsl architecture; "
                     f'it was not written by netdsl); Import[file, "ArrayAssociation"] gives '
                     f"its arrays.", tag="nonet")
    version = header.metadata.get("format_version")
    if version != FORMAT_VERSION:
        raise _error(f"{where} is a netdsl net file of format version {version}; this netdsl "
                     f"reads version {FORMAT_VERSION}.", tag="fmtver")
    net = net_from_text(header.metadata["net"], where)
    if element == "UninitializedNet":
        return net
    return bind(net, read_arrays(path, header, where), where)


def bind(net: Net, arrays: dict[str, np.ndarray], where: str) -> Net:
    """``net`` with the file's tensors as its arrays (NetReplacePart's shape checks)."""
    slots = tensor_names(net)
    leaf_arrays: dict[tuple, Any] = {}
    shared: dict[str, Any] = {}
    for name, value in arrays.items():
        slot = slots.get(name)
        if slot is None:
            raise _error(f'{where}: the tensor "{name}" names no array of the net it '
                         f"describes.", tag="fmterr")
        if value.dtype != np.float32:
            raise _error(f'{where}: the tensor "{name}" has type {value.dtype}; net arrays '
                         f"are float32.", tag="fmterr")
        if slot[0] == "shared":
            shared[slot[1]] = value
        else:
            leaf_arrays[slot] = value
    try:
        return replace_arrays(net, leaf_arrays, shared)
    except NetDSLError as e:
        raise _error(f"{where}: {e.text}", tag="fmterr") from None
