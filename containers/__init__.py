"""Code that runs inside the SageMaker jobs (and, unchanged, in the local runner).

Never imports pipelines/, steps/ or the SageMaker SDK. Every script is a CLI whose path defaults are the
SageMaker container paths; `main(args)` is separate from parsing so tests call it directly.
"""
