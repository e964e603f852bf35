"""Errors the lab raises for bad input or unavailable models.

Every public entry point (CLI, dashboard, API) turns a `LabError` into a one-line message;
anything else is a bug and is reported as such, never as a raw traceback to the user.
"""


class LabError(Exception):
    """Base class: a problem the user can act on, with a message that says how."""


class AudioError(LabError):
    """The audio cannot be used: empty, not audio, corrupt, too short, too long or silent."""


class UnknownModelError(LabError):
    """A model id that is not in the catalog."""


class ModelUnavailableError(LabError):
    """A known model whose runtime or weights are not installed here."""


class EngineError(LabError):
    """A model failed while loading or running."""


class TransitionError(LabError):
    """A lifecycle transition refused by a rule; the message names the rule."""
