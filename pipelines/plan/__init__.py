"""Plan before you run: what an upsert changes, which steps the next execution recomputes, what it costs.

cache_plan: the prediction (shared cache-key rules with the local runner); diff: the semantic per-step
diff of two definitions; cost: the price table; baselines: where the previous state comes from (the last
local run, or the deployed pipeline and its last execution); report: the table.
"""
