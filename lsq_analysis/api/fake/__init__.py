"""A local LeadSquared for demos, tests and benchmarks, and the synthetic data it serves:
``server`` (``FakeLeadSquared``) answers through ``handler`` (HTTP), ``state`` (counters, rate
limit, faults) and ``rules`` (paths, paging); ``synthetic`` generates accounts from ``people``
(the invented account) and ``catalog`` (its activity types)."""
