"""The local runner: runs the pipeline definition JSON (the one upsert sends) on one machine.

    make run-local [DATA=DIR]      # python -m pipelines run-local --data DIR
    make serve-local [PORT=8080]   # python -m pipelines serve-local

Modules: `dag` (steps, edges, parameters), `expressions` (Get, Std:Join, Std:JsonGet, conditions),
`storage` and `sources` (s3:// and /opt/ml mapped into the run folder), `jobs` (container scripts as
subprocesses), `handlers` (Processing, Training, Condition, Fail), `registry_steps` (RegisterModel,
Model, EndpointConfig, Endpoint), `cache`, `state`, `runner` (the scheduler), `progress` (live
progress and the summary), `definition_source` (the built definition, cached), `server` (HTTP
endpoints), `cli`.
"""
