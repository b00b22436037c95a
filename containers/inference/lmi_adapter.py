"""The project's chatbot contract on a SageMaker Large Model Inference (LMI, vLLM) endpoint.

    ours:  {"messages": [...], "parameters": {"max_new_tokens": 48, "temperature": 0.7, "do_sample": true}}
       ->  {"reply": "...", "usage": {"prompt_tokens": 31, "completion_tokens": 12}}
    LMI:   {"messages": [...], "max_tokens": 48, "temperature": 0.7, "top_p": 0.9}
       ->  {"choices": [{"message": {"role": "assistant", "content": "..."}, ...}],
            "usage": {"prompt_tokens": 31, "completion_tokens": 12, "total_tokens": 43}}

With `chatbot.serving.engine: lmi` the endpoint runs AWS's LMI container with vLLM (continuous batching,
paged KV cache) on the merged model instead of our handler. LMI answers a request holding "messages" in the
Chat Completions schema on /invocations ("Chat Completions API Schema",
https://docs.djl.ai/docs/serving/serving/docs/lmi/user_guides/chat_input_output_schema.html: "If the request
contains the "messages" field, LMI will treat the request as a chat completions style request"). These
functions translate both ways, so callers keep the project's contract whichever engine serves.

What the handler does that vLLM must be told: greedy decoding unless `do_sample` (temperature 0 is greedy in
vLLM), the cap on new tokens (MAX_NEW_TOKENS of the Model), and the training system prompt when the client
sends none: `template_with_default_system` writes it into the template saved with merged/, so vLLM renders
exactly the prompt the handler renders. Standard library only: the web app imports it without torch.
"""

from __future__ import annotations

import json
from typing import Any

PARAMETERS = ("max_new_tokens", "temperature", "top_p", "do_sample")  # the handler's (chatbot.PARAMETERS)
ROLES = ("system", "user", "assistant")


class LmiContractError(ValueError):
    """A request that breaks the project's contract, or an LMI answer that does not follow its schema."""


def to_lmi_request(request: dict[str, Any], max_new_tokens_cap: int) -> dict[str, Any]:
    """Our request as an LMI Chat Completions request; greedy unless do_sample, as the handler decodes."""
    messages = request.get("messages")
    if not isinstance(messages, list) or not messages:
        raise LmiContractError('\'messages\' must be a non-empty list of {"role", "content"} objects')
    for index, message in enumerate(messages):
        if (
            not isinstance(message, dict)
            or set(message) != {"role", "content"}
            or message["role"] not in ROLES
            or not isinstance(message["content"], str)
        ):
            raise LmiContractError(f"messages[{index}] must be {{role: {'|'.join(ROLES)}, content: string}}")
    if messages[-1]["role"] != "user":
        raise LmiContractError("the last message must be the user's (the model answers it)")
    parameters = request.get("parameters") or {}
    unknown = sorted(set(parameters) - set(PARAMETERS))
    if unknown:
        raise LmiContractError(f"unknown parameters {unknown}; allowed: {', '.join(PARAMETERS)}")
    wanted = parameters.get("max_new_tokens", max_new_tokens_cap)
    if not isinstance(wanted, int) or isinstance(wanted, bool) or wanted < 1:
        raise LmiContractError(f"max_new_tokens must be a positive integer, got {wanted!r}")
    lmi: dict[str, Any] = {
        "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
        "max_tokens": min(wanted, max_new_tokens_cap),
    }
    if parameters.get("do_sample"):
        for name in ("temperature", "top_p"):
            if parameters.get(name) is not None:
                lmi[name] = float(parameters[name])
    else:
        lmi["temperature"] = 0.0  # greedy, as the handler's default
    return lmi


def from_lmi_response(body: dict[str, Any] | str | bytes) -> dict[str, Any]:
    """An LMI Chat Completions answer as ours: the first choice's text and the token counts."""
    answer = json.loads(body) if isinstance(body, str | bytes) else body
    try:
        content = answer["choices"][0]["message"]["content"]
        usage = answer["usage"]
        prompt_tokens, completion_tokens = int(usage["prompt_tokens"]), int(usage["completion_tokens"])
    except (KeyError, IndexError, TypeError, ValueError) as error:
        raise LmiContractError(
            f"the LMI endpoint answered outside the Chat Completions schema ({error!r}): {str(answer)[:200]}"
        ) from None
    if not isinstance(content, str):
        raise LmiContractError(f"the LMI answer's message content is {content!r}, not text")
    return {
        "reply": content.strip(),
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens},
    }


def template_with_default_system(chat_template: str, system_prompt: str | None) -> str:
    """The chat template, rendering `system_prompt` first whenever the conversation has no system message.

    The handler prepends the training system prompt itself (chatbot.with_system_prompt); vLLM applies only
    the template, so the template does it. The prompt goes in as a JSON string literal, which Jinja reads
    as the same string (quotes, backslashes and newlines escaped).
    """
    if system_prompt is None:
        return chat_template
    literal = json.dumps(system_prompt)
    prefix = (
        "{%- if not messages or messages[0]['role'] != 'system' -%}"
        "{%- set messages = [{'role': 'system', 'content': " + literal + "}] + messages -%}"
        "{%- endif -%}"
    )
    return prefix + chat_template
