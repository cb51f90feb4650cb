"""Rendering results for people: Markdown/Rich tables, run comparisons, PNG plots and exports (imports only types)."""
