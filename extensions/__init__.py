"""Jinja extensions of the copier-claude-cloud template.

Copier loads each module by file path (copier-template-extensions'
TemplateExtensionLoader), once per template version it renders. So the modules
never import each other: what they share lives in `data/*.yml`.
"""
