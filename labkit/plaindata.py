"""Plain data across the sandbox's boundary: JSON, Parquet and `.npy` (never pickle), size-limited.

Artefacts a kernel records and inputs the grader gives a kernel are encoded here, and only here, so that the
grader never unpickles, imports or executes anything a kernel wrote: a DataFrame travels as Parquet (read back
by pyarrow, which runs no user code), a numeric array as `.npy` read with `allow_pickle=False`, everything else
as JSON (numbers, strings, booleans, None, lists and string-keyed dicts). Anything else is refused with a
message naming the artefact, so a learner sees at once what to return.
"""

import base64
import io
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

MAX_ARTEFACT_BYTES = 16 * 2**20  # one encoded artefact; a cell's total is capped by the grader
FORMATS = ("json", "parquet", "npy")


class PlainDataError(ValueError):
    """A value cannot cross the boundary (not plain data, too large, or malformed on the way back)."""


def encode(name: str, value: Any) -> tuple[str, bytes]:
    """(format, bytes) for `value`: Parquet for a DataFrame or Series, `.npy` for a numeric array, else JSON."""
    if isinstance(value, pd.Series):
        value = value.to_frame(name=value.name if value.name is not None else name)
    if isinstance(value, pd.DataFrame):
        frame = value.copy()
        frame.columns = [str(column) for column in frame.columns]
        buffer = io.BytesIO()
        try:
            frame.to_parquet(buffer)
        except Exception as error:  # pyarrow refuses object columns of mixed or unknown types
            raise PlainDataError(f"{name}: this DataFrame cannot be stored as Parquet ({error}); keep its "
                                 "columns to numbers, strings, booleans and timestamps") from None
        return "parquet", _limited(name, buffer.getvalue())
    if isinstance(value, np.ndarray) and value.dtype.kind in "biufcmM":
        buffer = io.BytesIO()
        np.save(buffer, value, allow_pickle=False)
        return "npy", _limited(name, buffer.getvalue())
    try:
        text = json.dumps(to_json(value, name), allow_nan=True)
    except PlainDataError:
        raise  # already names the artefact; PlainDataError is a ValueError
    except (TypeError, ValueError) as error:
        raise PlainDataError(f"{name}: {error}") from None
    return "json", _limited(name, text.encode("utf-8"))


def to_json(value: Any, name: str = "value") -> Any:
    """`value` as JSON-ready Python data: numpy scalars become numbers, timestamps ISO 8601 strings, tuples and
    sets lists, arrays lists; anything else that is not plain data raises PlainDataError naming `name`."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float):
        return int(value) if isinstance(value, int) else float(value)
    if isinstance(value, np.generic):
        return value.item() if not isinstance(value, np.datetime64) else str(pd.Timestamp(value).isoformat())
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, pd.Timedelta):
        return value.total_seconds()
    if isinstance(value, Mapping):
        if not all(isinstance(key, str | int) for key in value):
            raise PlainDataError(f"{name}: a dict recorded as evidence needs string keys")
        return {str(key): to_json(item, f"{name}[{key!r}]") for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_json(item, f"{name}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, np.ndarray):
        return [to_json(item, name) for item in value.tolist()]
    raise PlainDataError(f"{name}: {type(value).__name__} is not plain data: record numbers, strings, lists, "
                         "dicts, DataFrames or numeric arrays")


def decode(name: str, fmt: str, data: bytes) -> Any:
    """The value `encode` produced, read without executing anything; PlainDataError if malformed or too big."""
    _limited(name, data)
    try:
        if fmt == "json":
            return json.loads(data.decode("utf-8"))
        if fmt == "parquet":
            return pd.read_parquet(io.BytesIO(data))
        if fmt == "npy":
            return np.load(io.BytesIO(data), allow_pickle=False)
    except Exception as error:
        raise PlainDataError(f"{name}: malformed {fmt} data ({type(error).__name__}: {error})") from None
    raise PlainDataError(f"{name}: unknown format {fmt!r} (expected one of {', '.join(FORMATS)})")


def roundtrip(values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` as the other side of the boundary reads them back (the grader's inputs as a kernel sees them,
    a kernel's artefacts as the grader decodes them)."""
    return {name: decode(name, *encode(name, value)) for name, value in values.items()}


def to_text(fmt: str, data: bytes) -> str:
    """The bytes of one artefact as text for a JSON document (base64 except for JSON itself)."""
    return data.decode("utf-8") if fmt == "json" else base64.b64encode(data).decode("ascii")


def from_text(fmt: str, text: str) -> bytes:
    """The inverse of `to_text`; PlainDataError on bad base64."""
    if not isinstance(text, str):
        raise PlainDataError(f"expected text for a {fmt} artefact, got {type(text).__name__}")
    if fmt == "json":
        return text.encode("utf-8")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError) as error:
        raise PlainDataError(f"malformed base64 ({error})") from None


def write(folder: Path, name: str, value: Any) -> Path:
    """Write `value` to `folder/<name>.<format>` (the grader's inputs for a kernel); return the path."""
    fmt, data = encode(name, value)
    path = Path(folder) / f"{name}.{fmt}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def read(folder: Path, name: str) -> Any:
    """The value `write` stored under `name` in `folder`; FileNotFoundError naming the file when absent."""
    for fmt in FORMATS:
        path = Path(folder) / f"{name}.{fmt}"
        if path.is_file():
            return decode(name, fmt, path.read_bytes())
    raise FileNotFoundError(f"{Path(folder) / name}.*: no such input (expected .json, .parquet or .npy)")


def is_finite_number(value: Any) -> bool:
    """Whether `value` decoded from JSON is a real, finite number (not a bool, not NaN)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _limited(name: str, data: bytes) -> bytes:
    if len(data) > MAX_ARTEFACT_BYTES:
        raise PlainDataError(f"{name}: {len(data)} bytes, more than the {MAX_ARTEFACT_BYTES} an artefact may hold")
    return data
