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


class OptionError(LabError):
    """A decoding option out of its range (beam size, token budget) or an unknown language code."""


class TransitionError(LabError):
    """A lifecycle transition refused by a rule; the message names the rule, and `rules` carries their codes
    (e.g. 'needs-evaluation') so a page can offer the action that satisfies it."""

    def __init__(self, message: str, rules: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.rules = rules

    @property
    def rule(self) -> str | None:
        """The first rule that refused."""
        return self.rules[0] if self.rules else None


class NotFoundError(LabError):
    """A stored thing (run, clip, model record) that does not exist (any more)."""


def failure_message(model_id: str, e: BaseException, while_: str = "") -> str:
    """One line for a model's own failure (load, run, synthesis, chat), never a traceback.

    Lab errors already say what to do; out-of-memory (Python's MemoryError or a runtime's
    "CUDA out of memory") is named as such so users know to free memory or pick a smaller model.
    """
    if isinstance(e, LabError):
        return str(e)
    detail = str(e).strip()
    if isinstance(e, MemoryError) or "out of memory" in detail.lower():
        where = f" while {while_}" if while_ else ""
        return f"{model_id}: out of memory{where}" + (f": {detail}" if detail else ".")
    return f"{model_id}: {type(e).__name__}: {detail}" if detail else f"{model_id}: {type(e).__name__}"

