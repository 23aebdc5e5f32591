"""The elements between the pipeline's steps: chunks of records, with a coder that sizes them cheaply.

A step's output counter samples element sizes, and with few, large elements it samples nearly all of them. For a
list Beam's default coder pickles every item to find the size: one pickle per message per step, as much work as
a step itself. These coders estimate the size from the payload lengths instead, and encode a chunk as one pickle
when a runner really moves it between workers.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from typing import Any

import apache_beam as beam
from apache_beam.coders.coder_impl import CallbackCoderImpl

from .validate import Landed, Record, Rejected

_OVERHEAD = 64      # bytes of a record besides its payload (provenance, key, schema), for the estimate only
_SAMPLE = 16        # records whose payloads the estimate reads


class RecordChunk(list[Record]):
    """Records of one partition, in offset order: what one fetch returned."""


@dataclass(slots=True)
class Checked:
    """A RecordChunk after validation."""

    landed: list[Landed] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


def _size(value: Any) -> int:
    """Estimated bytes, from the first records' payloads (a size metric, not worth a pass over every record)."""
    if isinstance(value, RecordChunk):
        records, n = value[:_SAMPLE], len(value)
    else:
        records = [x.record for x in (*value.landed[:_SAMPLE], *value.rejected[:_SAMPLE])]
        n = len(value.landed) + len(value.rejected)
    if not records:
        return 0
    return (sum(len(r.value) for r in records) * n) // len(records) + _OVERHEAD * n


class _PickledChunkCoder(beam.coders.Coder):
    def encode(self, value: Any) -> bytes:
        return pickle.dumps(value, pickle.HIGHEST_PROTOCOL)

    def decode(self, encoded: bytes) -> Any:
        return pickle.loads(encoded)  # noqa: S301 - the runner's own bytes, written by encode above

    def is_deterministic(self) -> bool:
        return False

    def _create_impl(self) -> CallbackCoderImpl:
        return CallbackCoderImpl(self.encode, self.decode, _size)

    def to_type_hint(self) -> Any:
        return Any

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other)

    def __hash__(self) -> int:
        return hash(type(self))


class RecordChunkCoder(_PickledChunkCoder):
    def to_type_hint(self) -> Any:
        return RecordChunk


class CheckedCoder(_PickledChunkCoder):
    def to_type_hint(self) -> Any:
        return Checked


beam.coders.registry.register_coder(RecordChunk, RecordChunkCoder)
beam.coders.registry.register_coder(Checked, CheckedCoder)
