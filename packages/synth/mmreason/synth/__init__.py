"""mmreason.synth: documents → multimodal knowledge graph (MMKG-RDS) → reasoning data.

    ingest/   readers (Markdown, HTML, PDF, text, MinerU content_list.json) → one document model
    kg/       graph model, extractors (structural, llm), entity resolution, store, evaluation, build
    corpus    seeded generator of documents with ground truth (examples/corpus)
    cache     on-disk cache of model calls (shared by the kg and QA stages)
"""
