"""The real parts the test suite runs against: Kubernetes tiers built offline (see docs/testing.md, "Real Kubernetes for tests")."""
