"""The multimodal knowledge graph: model (graph), extractors, resolution, store, evaluate, build.

    from mmreason.synth.kg import KG, build_kg, load_graph
"""

from .build import build_kg
from .graph import EDGE_TYPES, KG, NODE_TYPES
from .store import export_graphml, load_graph, save_graph

__all__ = ["EDGE_TYPES", "KG", "NODE_TYPES", "build_kg", "export_graphml", "load_graph", "save_graph"]
