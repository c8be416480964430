"""Jinja extensions of the copier-claude-cloud template.

Copier loads each module by file path (copier-template-extensions'
TemplateExtensionLoader), once per template version it renders, so the modules cannot
import each other by name. Where one needs another, it loads the other by its file path,
beside it: the catalogue (catalogue.py, reading data/catalogue.yml) is loaded that way by
stacks.py, answers.py and claude_json.py; ownership.py loads claude_json.py; and
tasks/json_ownership.py loads ownership.py.
"""
