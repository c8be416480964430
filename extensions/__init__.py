"""Jinja extensions of the copier-claude-cloud template.

Copier loads each module by file path (copier-template-extensions'
TemplateExtensionLoader), once per template version it renders. So the modules
never import each other: what they share lives in `data/*.yml`. The one exception,
ownership.py, loads claude_json.py by its file path, beside it, to know what the
template writes; tasks/json_ownership.py loads ownership.py the same way.
"""
