"""Nox sessions."""

import nox

nox.options.sessions = "lint", "mypy", "tests"
locations = "src", "tests", "noxfile.py"


@nox.session(python=["3.11", "3.10"])
def tests(session):
    session.run("poetry", "install", external=True)
    session.run("pytest")


@nox.session(python="3.11")
def lint(session):
    session.install("flake8")
    session.run("flake8", *locations)


@nox.session(python="3.11", name="type-check")
def mypy(session):
    session.install("mypy")
    session.run("mypy", *locations)
