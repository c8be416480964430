"""The catalogue as the templates and questions see it: detection for question defaults,
the choices, and one resolved record per chosen stack, service and CLI-tool manager."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from jinja2 import pass_context
from jinja2.ext import Extension

# Copier runs extension files as modules of their own: the catalogue is loaded by its path.
_spec = importlib.util.spec_from_file_location("copier_claude_cloud_catalogue", Path(__file__).with_name("catalogue.py"))
catalogue = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(catalogue)


# --- detection (question defaults) --------------------------------------------------------------


def _has_any(folder: Path, patterns) -> bool:
    return any(next(folder.glob(pattern), None) is not None for pattern in patterns)


def detect_stacks(destination: str | Path) -> list[str]:
    """Stacks whose marker files sit at the destination's top level, in catalogue order."""
    folder = Path(destination)
    if not folder.is_dir():
        return []
    return [name for name, stack in catalogue.stacks().items() if _has_any(folder, stack["detect"])]


def detect_tool(destination: str | Path, stack: str) -> str:
    """The stack's tool whose lockfile is present, else the stack's fallback tool."""
    spec = catalogue.stacks()[stack]
    folder = Path(destination)
    if folder.is_dir():
        for tool, details in spec["tools"].items():
            if details["markers"] and _has_any(folder, details["markers"]):
                return tool
    return spec["fallback"]


# --- choices ------------------------------------------------------------------------------------


def stack_choices() -> dict[str, str]:
    """{label: name} of every stack, for the `stacks` question."""
    return {stack["label"]: name for name, stack in catalogue.stacks().items()}


def tool_choices(stack: str) -> list[str]:
    return list(catalogue.stacks()[stack]["tools"])


def service_choices() -> dict[str, str]:
    return {service["label"]: name for name, service in catalogue.services().items()}


# --- the chosen stacks ----------------------------------------------------------------------------


def _command_kinds() -> tuple[str, ...]:
    """test, lint, format, typecheck, build: the order commands are listed and allowed in,
    whatever order the answers file keeps them in (Copier writes its keys sorted)."""
    return catalogue.parsed_once(Path(__file__).with_name("data") / "evidence.yml", lambda data: tuple(data["kinds"]), "kinds")


KINDS = _command_kinds()


def _default_folders(stacks: list[str], tools: dict[str, str]) -> list[dict]:
    """One top-folder entry per chosen stack with the catalogue's commands: what a project
    whose answers predate `project_folders` gets."""
    entries = []
    for name, spec in catalogue.stacks().items():
        if name in stacks:
            tool = tools.get(name) if tools.get(name) in spec["tools"] else spec["fallback"]
            entries.append({"path": ".", "stack": name, "tool": tool, "commands": None})
    return entries


def step_name(stack: str, path: str) -> str:
    """The bootstrap step of a stack in a folder: `node`, or `node:frontend` (`:` for `/`)."""
    return stack if path == "." else f"{stack}:{path.replace('/', ':')}"


def in_folder(path_template: str, folder: str) -> str:
    """A catalogue path in a folder: {project}/.venv/bin -> {project}/backend/.venv/bin."""
    return path_template if folder == "." else path_template.replace("{project}", "{project}/" + folder, 1)


def stack_view(stacks: list[str], tools: dict[str, str], folders: list[dict] | None = None) -> list[dict]:
    """One resolved record per stack and folder, in `folders`' order (the reader's: the top
    folder first, then by path, stacks in catalogue order), else one per chosen stack in
    catalogue order (never answer order).

    `tools` maps a stack to the tool its question chose, e.g. {"python": "uv"}; stacks
    without a tool question use their fallback tool. `folders` is the `project_folders`
    answer (extensions/folders.py): each entry's own tool and commands win; an entry without
    commands gets the catalogue's.
    """
    chosen = [name for name in catalogue.stacks() if name in (stacks or [])]
    entries = [entry for entry in folders if entry.get("stack") in chosen] if folders else []
    entries += [entry for entry in _default_folders(chosen, tools) if entry["stack"] not in {e["stack"] for e in entries}]
    # A tool answer that differs from the tool recorded for the stack's first folder is a
    # choice made since (an update with --data python_tool=pip): it applies to the folders that
    # had that recorded tool, with the catalogue's commands for it. A folder with a tool of its
    # own (a poetry package in a uv monorepo) keeps it.
    first_tool: dict[str, str] = {}
    for entry in entries:
        first_tool.setdefault(entry["stack"], entry.get("tool"))
    view = []
    for entry in entries:
        name, folder = entry["stack"], entry.get("path") or "."
        spec = catalogue.stacks()[name]
        tool = entry.get("tool") if entry.get("tool") in spec["tools"] else spec["fallback"]
        read = entry.get("commands")
        answered = tools.get(name)
        if answered in spec["tools"] and answered != first_tool[name] and entry.get("tool") == first_tool[name]:
            tool, read = answered, None
        details = spec["tools"][tool]
        defaults = {key: value.format(run=details["run"]) for key, value in (details.get("commands") or spec["commands"]).items()}
        found = dict(read) if read is not None else {key: value for key, value in defaults.items() if value}
        commands = {kind: found[kind] for kind in KINDS if found.get(kind)}
        pnp = bool(entry.get("pnp"))
        # Plug'n'Play has no node_modules/.bin to put on PATH.
        path_templates = [in_folder(path, folder) for path in spec.get("path", ()) if not (pnp and "node_modules" in path)]
        view.append(
            {
                "name": name,
                "label": spec["label"],
                "folder": folder,
                "step": step_name(name, folder),
                # How a command of this folder is run from the project's top folder.
                "where": "" if folder == "." else f"cd {folder} && ",
                "installed_by": entry.get("installed_by"),
                "inputs": list(spec["inputs"]),
                "tool": tool,
                "add": details["add"],
                "add_dev": details["add_dev"],
                "add_note": details.get("note", ""),
                "commands": commands,
                "sources": dict(entry.get("sources") or {}) if read is not None else
                           {kind: "catalogue default" for kind in commands},
                "guessed": list(entry.get("guessed") or []) if read is not None else list(commands),
                "allow": [*spec.get("allow", ()), *details.get("allow", ())],
                "formatter": spec.get("formatter"),
                # The formatter the repository showed for this folder (format-on-edit), or None.
                "folder_formatter": next((command for command in (spec.get("formatter") or {}).get("commands", ())
                                          if command["name"] == entry.get("formatter")), None),
                "install": details["install"],
                # What its install downloads from: the registries the repository declared for
                # the folder (project_folders), else the catalogue's for its tool.
                "hosts": list(entry.get("hosts") or details.get("hosts", ())),
                # Plug'n'Play installs no node_modules: its own file says the install is there.
                "ready": ".pnp.cjs" if pnp else spec.get("ready", ""),
                # The folders the stack puts on PATH, in bash's spelling, and with the
                # catalogue's placeholders for the steps file.
                "paths": [catalogue.shell_path(path) for path in path_templates],
                "path_templates": path_templates,
                "setup": details.get("setup", {}),
            }
        )
    return view


@pass_context
def project_stacks(context) -> list[dict]:
    """`stack_view` of the answers being rendered: the stacks, their tool questions and the
    project's folders."""
    tools = {name: context.get(spec["tool_question"]) for name, spec in catalogue.stacks().items()
             if "tool_question" in spec}
    folders = context.get("project_folders")
    return stack_view(context.get("stacks") or [], tools, folders if isinstance(folders, list) else None)


@pass_context
def project_services(context) -> list[dict]:
    """One record per chosen service, in catalogue order."""
    chosen = context.get("services") or []
    return [{"name": name, **service} for name, service in catalogue.services().items() if name in chosen]


def cli_managers() -> dict[str, dict]:
    """Every CLI-tool manager: its install snippet, and its bin folder in bash's spelling."""
    return {name: {**manager, "bin": catalogue.shell_path(manager.get("bin", ""))}
            for name, manager in catalogue.cli_managers().items()}


def chosen_managers(cli_tools) -> list[str]:
    """The managers the cli_tools answer uses, once each, in answer order."""
    return list(dict.fromkeys(str(spec).split(":", 1)[0] for spec in cli_tools or []))


@pass_context
def setup_managers(context) -> list[str]:
    """The managers cloud-setup.sh installs with: the CLI tools', the stack tools' it
    provides, and apt for the service packages."""
    managers = chosen_managers(context.get("cli_tools"))
    for stack in project_stacks(context):
        if provide := stack["setup"].get("provide"):
            managers.append(provide["tool"].split(":", 1)[0])
    if context.get("services"):
        managers.append("apt")
    return list(dict.fromkeys(managers))


@pass_context
def needs_root(context, managers: list[str] | None = None) -> bool:
    """Whether a script runs something as root: a service, or a tool of a root manager
    among `managers` (default: the cli_tools answer's)."""
    if managers is None:
        managers = chosen_managers(context.get("cli_tools"))
    known = catalogue.cli_managers()
    return bool(context.get("services")) or any(known.get(name, {}).get("root") for name in managers)


def stack_tools(view: list[dict]) -> dict[str, str]:
    """Chosen stack -> its tool, e.g. {"python": "uv", "go": "go"}."""
    return {stack["name"]: stack["tool"] for stack in view}


def active_hooks(starter_hooks: list[str], stacks: list[str]) -> list[str]:
    """The starter hooks that have work to do: format-on-edit needs a stack with a formatter."""
    has_formatter = any(catalogue.stacks()[name].get("formatter") for name in stacks or [] if name in catalogue.stacks())
    return [hook for hook in starter_hooks or [] if hook != "format-on-edit" or has_formatter]


class StackView(Extension):
    """Globals for detection, choices and the resolved stacks, services and CLI managers."""

    def __init__(self, environment):
        super().__init__(environment)
        environment.globals.update({function.__name__: function for function in (
            detect_stacks, detect_tool, stack_choices, tool_choices, service_choices,
            project_stacks, project_services, cli_managers,
            chosen_managers, setup_managers, needs_root, stack_tools, active_hooks,
        )})
