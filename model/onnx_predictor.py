"""The fine-tuned transformer run by ONNX Runtime from ``network.onnx``, without torch.

On a CPU without native bf16 the torch encoder runs in fp32, and a lone text cost 32 ms at the
API on a 2-core AVX2 machine; ONNX Runtime runs the same fp32 network (BERT-fused at export) 1.6–
1.8× faster for one text and as fast for a batch, with every label equal to torch's (BENCHMARKS.md
§9). It also spares a process that only scores the import of torch (about 1 s of a start).
``runtime.resolve_runtime`` decides when it is used; ``nabiz export-onnx`` writes the file and
checks it against torch before it enters the model directory.

Tokenizing, batching, calibration and the cues are the same code as for torch: only the network
call differs (``predictor.batched_scores`` takes it as a function).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nabiz.model.predictor import (
    ModelInfo,
    Predictor,
    ScoredBatch,
    batched_scores,
    encode_for_model,
)
from nabiz.model.runtime import ONNX_FILE
from nabiz.model.schema import LabelSchema
from nabiz.model.tokenize import FP32_BATCH_TOKENS, PieceTokenizer

INPUT_NAMES = ("input_ids", "attention_mask")
# Batches are padded to their longest text only, not to torch's multiple of 8 (``PAD_MULTIPLE``):
# that bounds oneDNN's kernel cache, and ONNX Runtime keeps no such cache. Every width from 3 to
# 64 tokens in batches of seven sizes left its peak memory at 346 MiB against 341, and 20,260
# texts scored 4.3 % faster (269.4 s against 281.5 s, two rounds each) with every label equal
# (BENCHMARKS.md §9, AVX2-only Zen 2).
PAD_MULTIPLE_ONNX = 1


def output_name(task: str) -> str:
    """The graph output holding ``task``'s logits (the exporter names them so)."""
    return f"logits_{task}"


def cpu_threads() -> int:
    """The CPUs this process may run on (its affinity, which a container's limit sets)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def open_session(path: str | Path, threads: int = 0):
    """An ONNX Runtime CPU session for ``path``; ``threads`` 0: one per CPU of this process.

    One inter-op thread: the graph is a chain, and a second pool would only compete for the same
    cores. Graph optimizations run at load (the fused graph needs few; measured in the cold
    start, BENCHMARKS.md)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or cpu_threads()
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class OnnxTransformerPredictor(Predictor):
    """The transformer of a model directory, scored through its exported ``network.onnx``."""

    engine = "onnxruntime fp32 on cpu"

    def __init__(
        self,
        session,
        tokenizer,
        schema: LabelSchema,
        info: ModelInfo,
        batch_size: int = 64,
        path: Path | None = None,
    ) -> None:
        outputs = {output.name for output in session.get_outputs()}
        missing = [t.name for t in schema.tasks if output_name(t.name) not in outputs]
        if missing:
            raise ValueError(
                f"{ONNX_FILE} has no logits for task(s) {', '.join(missing)}: it was exported "
                "from another model; run `nabiz export-onnx` again"
            )
        self.session = session
        self.tokenizer = tokenizer
        self.schema = schema
        self.info = info
        self.batch_size = batch_size
        self.path = path
        self._outputs = [output_name(task.name) for task in schema.tasks]

    @classmethod
    def from_pretrained(cls, directory: str | Path, threads: int = 0) -> OnnxTransformerPredictor:
        directory = Path(directory)
        return cls(
            open_session(directory / ONNX_FILE, threads),
            PieceTokenizer.from_pretrained(directory),
            LabelSchema.load(directory),
            ModelInfo.load(directory),
            path=directory,
        )

    def encode(self, texts: Sequence[str]):
        return encode_for_model(self.tokenizer, self.info, texts)

    def logits(self, input_ids: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
        """The network on one padded batch: logits per task."""
        values = self.session.run(
            self._outputs, dict(zip(INPUT_NAMES, (input_ids, mask), strict=True))
        )
        return {task.name: value for task, value in zip(self.schema.tasks, values, strict=True)}

    def compute_scores(self, texts: Sequence[str]) -> ScoredBatch:
        encoded = self.encode(texts)
        scores = batched_scores(
            encoded.ids,
            self.schema,
            self.tokenizer.pad_token_id,
            self.batch_size,
            self.logits,
            multiple_of=PAD_MULTIPLE_ONNX,
            max_tokens=FP32_BATCH_TOKENS,
        )
        return ScoredBatch(scores=scores, truncated=np.asarray(encoded.truncated, dtype=bool))
