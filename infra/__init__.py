"""The stack program: typed config -> components -> outputs."""
