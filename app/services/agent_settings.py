"""How a Claude run is configured: the CLI flags that come from settings, never from the prompt.

A task's `metadata.claude` says how its Claude runs go (`model`, `max_turns`, `permission_mode`,
`allowed_tools`). Every flag is written in its `--name=value` form, so a value that starts with a
dash can never be read as another option, and the argument list ends with `--`.
"""

from __future__ import annotations

from typing import Any

PERMISSION_MODES = ("default", "acceptEdits", "bypassPermissions", "plan")


def validate(options: Any) -> dict[str, Any]:
    """A clean copy of Claude settings; ValueError naming the bad field."""
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise ValueError("must be an object")
    clean: dict[str, Any] = {}
    model = options.get("model")
    if model is not None:
        if not isinstance(model, str) or not model.strip() or len(model) > 100:
            raise ValueError("model must be a model name")
        clean["model"] = model.strip()
    turns = options.get("max_turns")
    if turns is not None:
        if isinstance(turns, bool) or not isinstance(turns, int) or not 1 <= turns <= 1000:
            raise ValueError("max_turns must be an integer from 1 to 1000")
        clean["max_turns"] = turns
    mode = options.get("permission_mode")
    if mode is not None:
        if mode not in PERMISSION_MODES:
            raise ValueError(f"permission_mode must be one of {', '.join(PERMISSION_MODES)}")
        clean["permission_mode"] = mode
    tools = options.get("allowed_tools", options.get("allowedTools"))
    if tools is not None:
        if isinstance(tools, str):
            tools = [t for t in tools.replace(",", " ").split() if t]
        if not isinstance(tools, list) or not all(isinstance(t, str) and t for t in tools):
            raise ValueError("allowed_tools must be a list of tool names")
        clean["allowed_tools"] = tools
    return clean


def cli_args(options: Any) -> list[str]:
    """The CLI flags of validated settings, each as one `--name=value` argument."""
    clean = validate(options)
    args: list[str] = []
    if "model" in clean:
        args.append(f"--model={clean['model']}")
    if "max_turns" in clean:
        args.append(f"--max-turns={clean['max_turns']}")
    if "permission_mode" in clean:
        args.append(f"--permission-mode={clean['permission_mode']}")
    if "allowed_tools" in clean:
        args.append(f"--allowedTools={','.join(clean['allowed_tools'])}")
    return args
