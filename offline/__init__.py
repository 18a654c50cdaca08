"""The offline plan's machinery: the stack program run under Pulumi mocks with the real stack files.

`harness` runs `infra.program.build` on the merged stack config and records every registered
resource; `mocks` answers each resource and invoke the way the cloud would (`mock_outputs/`, one
module per capability). The commands stay in the program's package (`python -m infra.plan`,
`infra.check`, `infra.cost`); the tests use the same harness.
"""
