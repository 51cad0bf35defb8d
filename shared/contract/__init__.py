"""The public contract's building blocks: the strict request base, the list envelope and
cursor paging, and the typed response shapes every route declares."""
