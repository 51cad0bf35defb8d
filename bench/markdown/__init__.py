"""To-markdown benchmark: Quarry's pipeline against pymupdf4llm and markitdown on the same files."""
