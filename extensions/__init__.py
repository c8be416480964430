"""Jinja extensions of the copier-claude-cloud template.

Copier loads each module by file path (copier-template-extensions'
TemplateExtensionLoader), once per template version it renders, so the modules cannot
import each other by name. Where one needs another, it loads the other by its file path,
beside it: the catalogue (catalogue.py, reading data/catalogue.yml) is loaded that way by
stacks.py, answers.py and claude_json.py; ownership.py loads claude_json.py; and
tasks/json_ownership.py loads ownership.py. user_config.py (the import of a person's
~/.claude) loads secrets.py, mcp.py, claude_json.py, layout.py and adopt.py, and
tasks/import_user_config.py loads user_config.py.
"""
