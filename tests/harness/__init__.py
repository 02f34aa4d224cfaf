"""The real parts the test suite runs against: Kubernetes tiers built offline (see README, "Real Kubernetes for tests")."""
