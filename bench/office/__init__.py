"""Office and web formats to markdown: Quarry against markitdown on files with a reference."""
