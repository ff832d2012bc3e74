"""A local LeadSquared for demos, tests and benchmarks, and the synthetic data it serves."""
