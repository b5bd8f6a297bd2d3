"""Renderers: text, JSON, Markdown and SARIF from the same result objects. None of them runs git or a query."""
