"""Extractors, selected by config (`synth.kg.extractors: [structural, llm]`) and combinable.

    structural  no model: layout, tables, captions, references, formulas, figure→table links
    llm         entities/relations per chunk through a GenerationBackend; VLM image descriptions
"""

from ...config import EXTRACTORS  # the names synth.kg.extractors accepts
from .llm import LLMSchema, extract_llm
from .structural import block_node_id, doc_node_id, extract_structural

__all__ = ["EXTRACTORS", "LLMSchema", "block_node_id", "doc_node_id", "extract_llm", "extract_structural"]
