"""Reusable ComponentResources: one folder per capability, one module per cloud, one neutral Args."""
