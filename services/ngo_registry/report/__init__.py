"""Report submissions under agreements' reporting obligations."""
