"""The local runner: runs the pipeline definition JSON (the one upsert sends) on one machine.

    make run-local [DATA=DIR]      # python -m pipelines run-local --data DIR
    make serve-local [PORT=8080]   # python -m pipelines serve-local

Modules: `dag` (steps, edges, parameters), `expressions` (Get, Std:Join, Std:JsonGet, conditions),
`storage` and `sources` (s3:// and /opt/ml mapped into the run folder), `step_types` (the table of step
types: one row and one handler each), `handlers` (the handler contract: StepCall in, Outcome out),
`job_steps` (Processing, Training, and the one cache path of jobs), `control_steps` (Condition, Fail),
`registry_steps` (RegisterModel, Model, EndpointConfig, Endpoint), `container` (a job's container as
SageMaker sets it up, the training toolkit's rules), `processes` (running a job as a subprocess),
`cache`, `state` (run state and result), `runner` (the scheduler), `progress` (live progress and the
summary), `definition_source` (the built definition, cached), `server` (HTTP endpoints), `cli`.
"""
