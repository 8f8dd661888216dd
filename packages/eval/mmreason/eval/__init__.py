"""mmreason.eval: benchmarks scored by their official rules, a resumable runner, reports.

    python -m mmreason.eval model.path=/ckpt eval.benchmarks=[mathvista,wemath]
    python -m mmreason.eval eval.rescore=true eval.run_name=…       # re-score, no model calls
    python -m mmreason.eval.report compare outputs/eval/A outputs/eval/B
    python -m mmreason.eval.check eval.data.mathvista=/data/MathVista     # what a download yields

Modules: `benchmarks` (one module per benchmark, registry; `benchmarks.release` reads the published
layouts), `check` (inspect a download), `rules` (answer rules), `metrics` (metric
arithmetic), `judge` (optional LLM judge), `runner` (generation cache + scoring), `report` (Markdown),
`diagnostics` (visual-attention diagnostics).
"""
