"""get_pipeline(cfg, session): the one place the DAG is wired (wiring only; each step has its builder).

FingerprintData (uncached; each cached step below keys on the hash of the folder it reads: [folder])
  ├─► CleanSubtitles ─┬─► ExtractEntities                                            [subtitles]
  │                   ├─► ClassifyThemes
  │                   └─► PrepareSubtitleLines (one file per episode, for the batch transform below)
  ├─► PrepareChatbotData ─► TrainChatbot ─► EvaluateChatbot ─► ChatbotQualityGate     [transcripts]
  │     │                                     └─► ComputeChatbotBaseline (drift baseline, to Register)
  │     ├─ pass: FindChatbotVersion (λ) ─► CheckChatbotIsNew (not in the group yet?)
  │     │     ├─ yes: RegisterChatbot ─► CheckChatbotApproval (Approved?)
  │     │     │     ├─ yes: DeployChatbot (λ)
  │     │     │     │    ─► CheckClassifierGateAfterChatbotDeploy
  │     │     │     │         ─ fail: ClassifierBelowThresholdAfterChatbotDeploy
  │     │     │     └─ no: CheckClassifierGateAfterChatbotRegister
  │     │     │              ─ fail: ClassifierBelowThresholdAfterChatbotRegister
  │     │     └─ no: CheckClassifierGateAfterChatbotKnown ─ fail: ClassifierBelowThresholdAfterChatbotKnown
  │     └─ fail: CheckClassifierGateAfterChatbotFailed ─ fail: ChatbotAndClassifierBelowThreshold
  └─► PrepareLocationData ─► TrainLocationClassifier ─► EvaluateClassifier            [locations]
        │                      └─► ComputeClassifierBaseline (drift baseline, to Register)
        ─► ClassifierQualityGate: the same shape (FindClassifierVersion, CheckClassifierIsNew,
           RegisterClassifier, CheckClassifierApproval, DeployClassifier, CheckChatbotGateAfterClassifier...);
           between RegisterClassifier and CheckClassifierApproval: CreateClassifierBatchModel ─►
           ClassifySubtitleLines (reads PrepareSubtitleLines' cues; both when classifier.transform.enabled)

(λ): a Lambda step invoking the deploy handler, the function approvals invoke too (steps/deploy.py):
the pipeline builds no endpoint itself, and registers only what its group does not hold yet.
A gate's fail branch holds no Fail step: each leaf of a model's branch checks the OTHER model's gate
figures and fails the run there, so a failing gate never stops the other branch (steps/gate.py says why).
Those verdicts also wait for the batch transform, PrepareSubtitleLines and both Compute*Baseline steps
(which run beside the gates), so no Fail step strands them (pipelines/fail_steps.py).

<model>.tuning.enabled: Tune<Model> (a Bayesian tuning job; TuneChatbot, TuneLocationClassifier)
replaces the model's Train step, and the steps after it read the best trial's model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sagemaker.mlops.workflow import ConditionStep, Pipeline

from conf.schema import Config
from model_registry.naming import MODELS, pipeline_name
from project.bundle import REPO_ROOT, bundle_hash
from project.images import image_spec, serving_image_spec
from steps.analytics import build_classify_themes_step, build_extract_entities_step
from steps.baseline import build_baseline_step
from steps.clean_subtitles import build_clean_subtitles_step
from steps.context import Images, StepContext
from steps.deploy import build_deploy_step, build_find_step, build_new_version_step
from steps.evaluate import build_evaluate_step
from steps.fingerprint_data import build_fingerprint_data_step
from steps.gate import build_approval_step, build_gate_step, build_verdict_step
from steps.parameters import build_parameters
from steps.prepare_datasets import build_prepare_step
from steps.register import build_register_step
from steps.request_step import RequestStep
from steps.train import build_train_step
from steps.transform import build_transform_input_step, build_transform_steps
from steps.tune import build_tune_step, tuning_config


def resolve_images(cfg: Config, root: Path = REPO_ROOT) -> Images:
    """The image of every job, from config (see project/images.py)."""
    return Images(
        processing=image_spec(cfg, "processing", cfg.processing.instance_type, root).uri,
        training={
            m: image_spec(cfg, "training", getattr(cfg, m).training.instance_type, root).uri for m in MODELS
        },
        evaluation={
            "chatbot": image_spec(cfg, "training", cfg.chatbot.serving.instance_type, root).uri,
            "classifier": image_spec(cfg, "training", cfg.processing.instance_type, root).uri,
        },
        inference={m: serving_image_spec(cfg, m, root).uri for m in MODELS},
    )


def _model_branch(ctx: StepContext, model: str) -> list[RequestStep]:
    """One model's steps up to its evaluation and drift baseline, from its own prepare step: the
    branches share no data step, so new data of one model (transcripts or locations) leaves the other's
    cache keys, even their input URIs, alone."""
    prepare_step = build_prepare_step(ctx, model)
    train = _training_step(ctx, model, prepare_step)
    evaluate = build_evaluate_step(ctx, model, train, prepare_step)
    return [prepare_step, train, evaluate, build_baseline_step(ctx, model, train, prepare_step, evaluate)]


def _training_step(ctx: StepContext, model: str, prepare_step: RequestStep) -> RequestStep:
    """The model's Train step, or its Tune step when config enables tuning (same downstream wiring)."""
    if tuning_config(ctx, model) is not None:
        return build_tune_step(ctx, model, prepare_step)
    return build_train_step(ctx, model, prepare_step)


def _transform_input(ctx: StepContext, clean: RequestStep) -> list[RequestStep]:
    """PrepareSubtitleLines when config enables the classifier's batch transform, its only reader."""
    if ctx.cfg.classifier.transform.enabled:
        return [build_transform_input_step(ctx, clean)]
    return []


def _after_register(
    ctx: StepContext, model: str, train: RequestStep, register: RequestStep, lines: list[RequestStep]
) -> list[RequestStep]:
    """Steps that use the registered version beyond deployment: the classifier's batch transform."""
    if model == "classifier" and lines:
        return build_transform_steps(ctx, train, register, lines[0])
    return []


def _gate(
    ctx: StepContext,
    model: str,
    branches: dict[str, list[RequestStep]],
    analytics: list[RequestStep],
    lines: list[RequestStep],
) -> ConditionStep:
    """The model's gate and what follows it; its leaves read both evaluation reports (the verdicts) and
    wait for the analytics steps, the transform's input, both drift baselines (which run beside the gates,
    not after them) and the batch transform, so no Fail step ends the run before they started. The
    registered version carries the drift baseline its branch computed."""
    _, train, evaluate, baseline = branches[model]
    evaluates = {m: steps[2] for m, steps in branches.items()}
    waits = [*analytics, *lines, *(steps[3] for steps in branches.values())]
    register = build_register_step(ctx, model, train, evaluate, baseline)
    deploy = [build_deploy_step(ctx, model)]
    after = _after_register(ctx, model, train, register, lines)
    approved = build_approval_step(ctx, model, register, deploy, evaluates, [*waits, *after[-1:]])
    find = build_find_step(ctx, model, train, evaluate)
    known = build_verdict_step(ctx, model, "known", evaluates, waits)
    is_new = build_new_version_step(
        ctx, model, find, if_steps=[register, *after, approved], else_steps=[known]
    )
    failed = build_verdict_step(ctx, model, "failed", evaluates, waits)
    return build_gate_step(ctx, model, evaluate, if_steps=[find, is_new], else_steps=[failed])


def get_pipeline(
    cfg: Config, session: Any, code_sha12: str | None = None, root: Path = REPO_ROOT
) -> Pipeline:
    """The SageMaker Pipeline for `cfg`; building it (and its definition) makes no network call."""
    params = build_parameters(cfg)
    ctx = StepContext(cfg, params, code_sha12 or bundle_hash(root), resolve_images(cfg, root), code_root=root)
    fingerprint = build_fingerprint_data_step(ctx)
    clean = build_clean_subtitles_step(ctx)
    analytics = [build_extract_entities_step(ctx, clean), build_classify_themes_step(ctx, clean)]
    lines = _transform_input(ctx, clean)
    steps: list[RequestStep | ConditionStep] = [fingerprint, clean, *analytics, *lines]
    branches = {model: _model_branch(ctx, model) for model in MODELS}
    for model in MODELS:
        steps += [*branches[model], _gate(ctx, model, branches, analytics, lines)]
    return Pipeline(
        name=pipeline_name(cfg.project.name, cfg.env),
        parameters=params.all(),
        steps=steps,
        sagemaker_session=session,
        pipeline_experiment_config=None,
        mlflow_config=_mlflow_config(cfg),
    )


def _mlflow_config(cfg: Config) -> Any:
    """The pipeline's MlflowConfig when config names a SageMaker managed MLflow tracking server."""
    if not cfg.mlflow.tracking_server_arn:
        return None
    from sagemaker.core.shapes.shapes import MlflowConfig

    return MlflowConfig(
        mlflow_resource_arn=cfg.mlflow.tracking_server_arn,
        mlflow_experiment_name=pipeline_name(cfg.project.name, cfg.env),
    )
