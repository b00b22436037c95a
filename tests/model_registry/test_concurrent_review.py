"""Approve and reject of the same version at once: the endpoint ends on the version the registry says is live.

Locally, review() holds one lock over the status change and the deploy it causes. The SageMaker handler
has no such lock (two Lambda invocations), so `deploy_logic.handle` reads the deployed version's status
back and acts again when it changed meanwhile; both are tested here on the local registry and endpoints.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from model_registry.backend import LocalBackend
from model_registry.deploy_logic import EndpointTarget, HandlerSettings, handle, state_change_event
from model_registry.local import LocalRegistry
from model_registry.local_deploy import LocalDeployer
from model_registry.review import review
from model_registry.settings import handler_settings
from model_registry.types import ModelVersion
from tests.model_registry.test_local_deploy import make_tarball

CHATBOT = "stranger-things-chatbot"
ROUNDS = 18


def live_version(registry: LocalRegistry, endpoint: str) -> int:
    served = registry.endpoint(endpoint)
    assert served is not None
    return served.version


def at_once(*calls: object) -> list[BaseException]:
    """Run the callables in threads released together; the errors they raised."""
    barrier = threading.Barrier(len(calls))
    errors: list[BaseException] = []

    def run(call) -> None:  # type: ignore[no-untyped-def]
        barrier.wait()
        try:
            call()
        except BaseException as exc:  # collected and asserted by the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_concurrent_approve_and_reject_rounds_leave_the_endpoint_on_the_registrys_live_version(
    tmp_path: Path, local_config
) -> None:  # type: ignore[no-untyped-def]
    backend = LocalBackend(
        registry := LocalRegistry(tmp_path / "registry.db"), LocalDeployer(registry, base_dir=tmp_path)
    )
    endpoint = handler_settings(local_config).targets[CHATBOT].endpoint_name
    registry.register(CHATBOT, model_data_url=str(make_tarball(tmp_path, "m1", "version 1")))
    review(backend, local_config, CHATBOT, 1, "Approved")

    outcomes = []
    for n in range(2, ROUNDS + 2):
        registry.register(CHATBOT, model_data_url=str(make_tarball(tmp_path, f"m{n}", f"version {n}")))
        errors = at_once(
            lambda n=n: review(backend, local_config, CHATBOT, n, "Approved"),
            lambda n=n: review(backend, local_config, CHATBOT, n, "Rejected"),
        )
        assert errors == []
        latest = registry.latest_approved(CHATBOT)
        assert latest is not None
        assert live_version(registry, endpoint) == latest.version, f"round {n}"
        outcomes.append(registry.get(CHATBOT, n).status)
    # Both orders happened over the rounds (either review may win), and each left the endpoint right.
    assert set(outcomes) <= {"Approved", "Rejected"}


def test_the_handler_reads_back_and_rolls_back_a_version_rejected_while_it_deployed(tmp_path: Path) -> None:
    registry = LocalRegistry(tmp_path / "registry.db")
    target = EndpointTarget(group=CHATBOT, endpoint_name="chatbot", instance_type="ml.m5.xlarge")
    settings = HandlerSettings(targets={CHATBOT: target})
    for n in (1, 2):
        registry.register(CHATBOT, model_data_url=str(make_tarball(tmp_path, f"m{n}", f"version {n}")))

    class RejectedMeanwhile(LocalDeployer):
        """The reject of version 2 lands (and its handler sees 2 not yet live) during 2's deploy."""

        def deploy(self, target: EndpointTarget, version: ModelVersion) -> None:
            super().deploy(target, version)
            if version.version == 2 and registry.get(CHATBOT, 2).status == "Approved":
                rejected = registry.set_status(CHATBOT, 2, "Rejected")
                # What the reject's own handler would have seen: 2 was not live yet -> noop.
                assert self.live_package_arn("chatbot") == rejected.arn  # it is live now, though

    deployer = RejectedMeanwhile(registry, base_dir=tmp_path)
    handle(state_change_event(registry.set_status(CHATBOT, 1, "Approved")), settings, registry, deployer)
    decision = handle(
        state_change_event(registry.set_status(CHATBOT, 2, "Approved")), settings, registry, deployer
    )

    assert registry.get(CHATBOT, 2).status == "Rejected"
    assert live_version(registry, "chatbot") == 1  # rolled back by the read-back, not left on 2
    assert (decision.action, decision.version) == ("rollback", 1)


@pytest.fixture
def local_config():  # type: ignore[no-untyped-def]
    from conf import load_config

    return load_config("local")
