"""Errors of the task domain."""

from __future__ import annotations

from shared.errors import Conflict, InvalidTransition, Unprocessable


class IllegalTaskTransition(InvalidTransition):
    problem_type = "task-invalid-transition"
    title = "The task cannot move to that status from its current one"


class DependenciesNotDone(Conflict):
    problem_type = "task-dependencies-not-done"
    title = "The task depends on tasks that are not done yet"


class DependencyCycle(Unprocessable):
    problem_type = "task-dependency-cycle"
    title = "The dependencies would form a cycle"


class InvalidTask(Unprocessable):
    problem_type = "task-invalid"
    title = "The task cannot be accepted"
