"""The cutover CLI (`failover`): move inference traffic between the primary and standby stacks.

Modules: `cli` (commands and output), `runner` (execution, journal, verification, rollback),
`plan` (ordered steps from the stacks' config), `journal` (durable run record), `checks`,
`probes` and `dns_check` (read-only checks), `stack_ops` (the thin Pulumi Automation API layer),
`errors` (error tree and named exit codes).
"""

from cutover.errors import CutoverError, ExitCode

__all__ = ["CutoverError", "ExitCode"]
