"""The project's policy pack (pulumi-policy); rules in policy.rules, the pack in __main__."""
