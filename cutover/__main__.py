"""`python -m cutover` runs the `failover` command (for checkouts without `pip install -e .`)."""

from cutover.cli import main

main()
