"""Sentence embeddings: the second retriever, so a paraphrase finds its record.

A record is embedded as its claim with its claimant (the words a question
about it paraphrases); a question as typed. Vectors are L2-normalised, so a dot
product is the cosine similarity. Search is exact (brute force) over a float32
matrix: at 10k records that is a 15 MB matrix-vector product, well under a
millisecond.

The model comes from ``BOT_EMBEDDING_MODEL`` (or ``--model``):

- a model name fastembed knows (default ``sentence-transformers/all-MiniLM-L6-v2``),
  downloaded once and cached by fastembed;
- a local folder holding an ONNX export (``model.onnx``, the tokenizer files and
  ``1_Pooling/config.json``), loaded with no network at all;
- ``off``: BM25 alone.

A model that cannot be loaded is a :class:`~bot.errors.ModelError`; callers say
so once and answer with BM25 alone (:func:`load_model_or_none`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from bot.config import DEFAULT_MODEL, MODEL_ENV
from bot.errors import ModelError
from bot.knowledge.schema import Record
from bot.search.ann import ANN_MIN_VECTORS, AnnIndex, FileRows, ann_index, keys_of
from bot.search.store import content_key

log = logging.getLogger(__name__)

OFF = "off"
#: Rows per block of the exact search's matrix-vector product.
EXACT_BLOCK = 4096
#: Records embedded per batch (fastembed's default is 256; smaller shows progress sooner).
BATCH = 64


class Embedder(Protocol):
    """Anything that turns texts into L2-normalised float32 vectors."""

    #: Names the model and its version: vectors of different names never mix.
    name: str
    #: True when the model was trained on many languages.
    multilingual: bool

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def record_text(record: Record) -> str:
    """What a record's vector encodes: its claim and who made it."""
    return f"{record.claim} ({record.claimant})"


@dataclass
class FastEmbedder:
    """A fastembed ``TextEmbedding`` (ONNX Runtime, no PyTorch).

    Two sessions of the same model, measured on 2 cores: questions go through
    one ONNX Runtime thread (8 ms a question; with two threads 20 ms, and their
    spin-waiting slows the cosine product that follows), batches of records
    through ``batch_threads`` (about twice the records a second on long
    texts). The batch session is opened on the first batch, so a bot whose
    vectors are all cached never holds it.
    """

    name: str
    multilingual: bool
    _model: Any
    _open_batch_model: Callable[[], Any] | None = None
    _batch_model: Any = None

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        model = self._model
        if len(texts) > 1 and self._open_batch_model is not None:
            if self._batch_model is None:
                self._batch_model = self._open_batch_model()
            model = self._batch_model
        vectors = np.asarray(list(model.embed(list(texts), batch_size=BATCH)), np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        normalised: np.ndarray = vectors / np.maximum(norms, 1e-12)
        return normalised

    def release_batch(self) -> None:
        """Close the batch session after a run of records: its threads and memory go
        until the next build or reload needs them."""
        self._batch_model = None


def model_spec(chosen: str | None = None) -> str:
    """The model asked for: ``chosen`` (``--model``), else $BOT_EMBEDDING_MODEL, else default."""
    spec = (chosen or os.environ.get(MODEL_ENV) or DEFAULT_MODEL).strip()
    return spec or DEFAULT_MODEL


def load_model(spec: str) -> FastEmbedder | None:
    """The embedder ``spec`` names, None for ``off``; raises ModelError when it cannot load."""
    if spec.lower() == OFF:
        return None
    try:
        from fastembed import TextEmbedding
    except ImportError as exc:  # pragma: no cover - fastembed is a dependency
        raise ModelError(f"fastembed is not installed ({exc}); pip install fastembed") from exc
    folder = Path(spec).expanduser()
    threads = 1  # for questions; batches get their own session (see FastEmbedder)
    batch_threads = min(os.cpu_count() or 1, 4)
    try:
        if folder.is_dir():
            name = _register_folder(folder)

            def local(n: int) -> Any:
                return TextEmbedding(model_name=name, specific_model_path=str(folder), threads=n)

            multilingual = "multilingual" in folder.name.lower()
            digest = _folder_digest(folder)
            return FastEmbedder(
                f"{name}@{digest}", multilingual, local(threads), lambda: local(batch_threads)
            )
        if "/" not in spec and not spec.startswith("."):
            known = {m["model"] for m in TextEmbedding.list_supported_models()}
            if spec not in known:
                raise ModelError(f"unknown embedding model {spec!r}")
        # Without a network fastembed retries its download for ~40 s: look in
        # its cache first, and go online only when the hub can be reached.
        try:
            with _quiet_fastembed():  # a cache miss is expected, not an ERROR line
                model = TextEmbedding(model_name=spec, threads=threads, local_files_only=True)
        except Exception:
            if os.environ.get("HF_HUB_OFFLINE", "") == "1" or not _hub_reachable():
                raise ModelError(
                    f"the embedding model {spec!r} is not in fastembed's cache and cannot be "
                    "downloaded (no network); set BOT_EMBEDDING_MODEL to a folder holding its "
                    "ONNX export, or to 'off'"
                ) from None
            model = TextEmbedding(model_name=spec, threads=threads)
        return FastEmbedder(
            spec,
            "multilingual" in spec.lower(),
            model,
            lambda: TextEmbedding(model_name=spec, threads=batch_threads),
        )
    except ModelError:
        raise
    except Exception as exc:  # fastembed raises ValueError, OSError, onnxruntime errors...
        detail = " ".join(str(exc).split())[:300]
        raise ModelError(f"cannot load the embedding model {spec!r}: {detail}") from exc


def load_model_or_none(spec: str) -> FastEmbedder | None:
    """:func:`load_model`, or None with one plain warning when it cannot load."""
    try:
        return load_model(spec)
    except ModelError as exc:
        log.warning("%s; answering with BM25 alone (set %s=off to silence)", exc, MODEL_ENV)
        return None


@contextlib.contextmanager
def _quiet_fastembed() -> Iterator[None]:
    """Silence fastembed's own log lines (it logs through loguru) for a moment."""
    try:
        from loguru import logger
    except ImportError:  # pragma: no cover - fastembed depends on loguru
        yield
        return
    logger.disable("fastembed")
    try:
        yield
    finally:
        logger.enable("fastembed")


def _hub_reachable(host: str = "huggingface.co", timeout: float = 3.0) -> bool:
    """Whether the model hub answers at all (a quick TCP connect)."""
    import socket

    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def _register_folder(folder: Path) -> str:
    """Describe a local sentence-transformers ONNX export to fastembed; returns its name."""
    from fastembed import TextEmbedding
    from fastembed.common.model_description import ModelSource, PoolingType

    if not (folder / "model.onnx").is_file():
        raise ModelError(f"{folder} holds no model.onnx: not an ONNX export")
    pooling = PoolingType.MEAN
    dim = 0
    try:
        config = json.loads((folder / "1_Pooling" / "config.json").read_text())
        dim = int(config.get("word_embedding_dimension") or 0)
        if config.get("pooling_mode_cls_token"):
            pooling = PoolingType.CLS
    except (OSError, ValueError):
        pass
    if not dim:
        try:
            dim = int(json.loads((folder / "config.json").read_text())["hidden_size"])
        except (OSError, ValueError, KeyError) as exc:
            raise ModelError(f"{folder}: cannot tell the embedding size ({exc})") from exc
    name = f"local/{folder.name}"
    known = {m["model"] for m in TextEmbedding.list_supported_models()}
    if name not in known:
        TextEmbedding.add_custom_model(
            model=name,
            pooling=pooling,
            normalization=True,
            sources=ModelSource(hf=name),
            dim=dim,
            model_file="model.onnx",
        )
    return name


def _folder_digest(folder: Path) -> str:
    """Names a model folder's weights: size and mtime of model.onnx, cheaply."""
    stat = (folder / "model.onnx").stat()
    return hashlib.sha256(f"{stat.st_size}:{int(stat.st_mtime)}".encode()).hexdigest()[:12]


#: A record's content key (16 bytes): vectors are reused while it is unchanged.
record_key = content_key


class VectorIndex:
    """Record vectors, row i for record i: exact cosine search over a float32 matrix,
    or, above :data:`bot.search.ann.ANN_MIN_VECTORS`, an approximate index
    (:class:`bot.search.ann.AnnIndex`) that holds them compactly instead."""

    def __init__(
        self, embedder: Embedder, vectors: np.ndarray, ann: AnnIndex | None = None
    ) -> None:
        self.embedder = embedder
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.ann = ann

    def __len__(self) -> int:
        return len(self.ann) if self.ann is not None else len(self.vectors)

    def question_vector(self, question: str) -> np.ndarray:
        vector: np.ndarray = self.embedder.embed([question])[0]
        return vector

    def similarities(self, vector: np.ndarray) -> np.ndarray:
        """Cosine similarity of every record with ``vector`` (exact search only)."""
        if self.ann is not None:
            raise ValueError("an approximate index has no similarities for every record")
        if not len(self.vectors):
            return np.zeros(0, dtype=np.float32)
        # Row blocks: one large product makes OpenBLAS start threads that, on a
        # busy machine, cost more than the product itself.
        sims = np.empty(len(self.vectors), dtype=np.float32)
        for start in range(0, len(sims), EXACT_BLOCK):
            np.dot(
                self.vectors[start : start + EXACT_BLOCK],
                vector,
                out=sims[start : start + EXACT_BLOCK],
            )
        return sims

    def similarity(self, vector: np.ndarray, positions: Sequence[int]) -> np.ndarray:
        """Cosine similarity of ``vector`` with the records at ``positions``."""
        if self.ann is not None:
            return self.ann.similarity(vector, positions)
        sims: np.ndarray = self.vectors[np.asarray(positions, dtype=np.int64)] @ vector
        return sims

    def top_k(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(record positions, cosines), best first."""
        if self.ann is not None:
            return self.ann.top_k(vector, k)
        sims = self.similarities(vector)
        if not len(sims) or k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        k = min(k, len(sims))
        top = np.argpartition(-sims, k - 1)[:k]
        order = top[np.argsort(-sims[top], kind="stable")]
        return order.astype(np.int64), sims[order]


def _embed_with_progress(embedder: Embedder, texts: Sequence[str]) -> Iterable[np.ndarray]:
    from tqdm import tqdm

    show = sys.stderr.isatty() and len(texts) > BATCH
    with tqdm(total=len(texts), desc="Embedding records", unit="rec", disable=not show) as bar:
        for start in range(0, len(texts), BATCH):
            batch = embedder.embed(texts[start : start + BATCH])
            bar.update(len(batch))
            yield from batch
    release = getattr(embedder, "release_batch", None)
    if release is not None:  # the run is over: questions alone from here on
        release()


# --- the vector cache -----------------------------------------------------------------------------


def cache_file(cache_dir: str | Path, model_name: str) -> Path:
    """One file per model: ``vectors-<digest of the model name>.npz``."""
    return Path(cache_dir) / f"vectors-{hashlib.sha256(model_name.encode()).hexdigest()[:16]}.npz"


def store_vectors(path: Path, model_name: str, keys: Sequence[bytes], vectors: np.ndarray) -> None:
    """Write the vector cache atomically (float16: half the bytes, cosines within 1e-3)."""
    from bot.search.store import atomic_savez

    path.parent.mkdir(parents=True, exist_ok=True)
    key_array = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), 16)
    atomic_savez(
        path,
        {
            "model": np.frombuffer(model_name.encode("utf-8"), dtype=np.uint8),
            "keys": key_array,
            "vectors": vectors.astype(np.float16),
        },
    )


def _cached_matrix(
    path: Path, model_name: str, keys_only: bool = False
) -> tuple[dict[bytes, int], np.ndarray]:
    """(content key → row, float16 rows) of a vector cache file; empty when missing or
    unsound. ``keys_only``: the rows are not read (nor the model name checked)."""
    empty: tuple[dict[bytes, int], np.ndarray] = ({}, np.zeros((0, 0), dtype=np.float16))
    try:
        with np.load(path, allow_pickle=False) as npz:
            if not keys_only and bytes(npz["model"]).decode("utf-8") != model_name:
                return empty
            keys = npz["keys"]
            vectors = npz["vectors"] if not keys_only else np.zeros((len(keys), 0), np.float16)
            if keys.ndim != 2 or keys.shape[1] != 16 or len(keys) != len(vectors):
                raise ValueError("keys and vectors do not match")
    except FileNotFoundError:
        return empty
    except Exception as exc:  # a damaged file costs embedding time, never answers
        log.warning("ignoring vector cache %s (%s); vectors will be recomputed", path, exc)
        return empty
    raw = keys.tobytes()
    rows = {raw[16 * i : 16 * i + 16]: i for i in range(len(keys))}
    return rows, vectors.astype(np.float16, copy=False)


def vector_index(
    embedder: Embedder,
    texts: Sequence[str],
    keys: Sequence[bytes],
    cache_dir: str | Path | None,
) -> VectorIndex:
    """The records' vectors: cached ones reused by content key, the rest embedded
    (and the cache rewritten when anything was new).

    Up to :data:`~bot.search.ann.ANN_MIN_VECTORS` records, exact search over
    float32 rows; above, the approximate index (updated in place from its saved
    copy, see :func:`bot.search.ann.ann_index`) holds them as 8-bit codes and
    no float matrix is kept.
    """
    path = cache_file(cache_dir, embedder.name) if cache_dir is not None else None
    rows, stored = _cached_matrix(path, embedder.name) if path is not None else ({}, None)
    n = len(keys)
    at = np.fromiter((rows.get(k, -1) for k in keys), dtype=np.int64, count=n)
    missing = np.flatnonzero(at < 0)
    fresh = np.zeros((0, 0), dtype=np.float32)
    if len(missing):
        fresh = np.vstack(
            list(_embed_with_progress(embedder, [texts[i] for i in missing.tolist()]))
        )
    dim = fresh.shape[1] if len(fresh) else (stored.shape[1] if stored is not None else 0)
    if not n or not dim:
        return VectorIndex(embedder, np.zeros((0, 0), dtype=np.float32))
    large = n > ANN_MIN_VECTORS
    matrix = np.empty((n, dim), dtype=np.float16 if large else np.float32)
    known = np.flatnonzero(at >= 0)
    if len(known) and stored is not None:
        matrix[known] = stored[at[known]]
    if len(missing):
        matrix[missing] = fresh
    cached = len(rows)
    del fresh, stored, rows
    written = False
    if path is not None and (len(missing) or cached != len(set(keys))):
        try:
            store_vectors(path, embedder.name, keys, matrix)
            written = True
        except OSError as exc:
            log.warning("could not write the vector cache %s: %s", path, exc)
    if not large:
        return VectorIndex(embedder, matrix)
    # The cache file's row of each record: its position when just written, else
    # where its key was found (the file then holds exactly these records).
    exact_rows = _exact_rows(path, np.arange(n) if written else at, matrix)
    ann = ann_index(keys_of(keys), lambda r: matrix[r], dim, cache_dir, embedder.name, exact_rows)
    return VectorIndex(embedder, np.zeros((0, dim), dtype=np.float32), ann)


def _exact_rows(
    path: Path | None, row_of: np.ndarray, matrix: np.ndarray
) -> Callable[[np.ndarray], np.ndarray]:
    """Exact float vectors of record positions for re-ranking the approximate index's
    candidates: read from the vector cache file when it holds them (``row_of``: each
    record's row there, -1 when absent; no copy in memory), else from the float16
    matrix kept."""
    if path is not None and len(row_of) and row_of.min() >= 0:
        try:
            return FileRows(path, "vectors", row_of)
        except (OSError, ValueError, KeyError) as exc:
            log.warning("vector cache %s unreadable for re-ranking (%s)", path, exc)
    kept = matrix
    return lambda positions: kept[positions].astype(np.float32)
