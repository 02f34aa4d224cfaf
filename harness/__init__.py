"""The test harness: the real parts the test suite runs against (tier 1, kind, the VM and fleet models), as fixtures.

This package and the scripts and files beside it are the harness's home (harness/); harness/README.md says what
each part builds, where it is cached, how to bring it up and down, and which test markers use it.
"""
