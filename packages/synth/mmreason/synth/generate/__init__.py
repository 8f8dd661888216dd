"""Question generators: `template` (answers computed from the graph, no model) and `llm` (a model
phrases the question and reasoning; checked, with the template phrasing as fallback)."""

from .compute import ComputeError, evaluate, fmt_num, render
from .families import FAMILIES, family
from .template import generate_for_task, make_record
from .view import Draft, View

__all__ = ["FAMILIES", "ComputeError", "Draft", "View", "evaluate", "family", "fmt_num", "generate_for_task",
           "make_record", "render"]
