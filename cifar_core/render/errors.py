"""The one exception the renderer raises: its message names the file and the fix."""


class RenderError(RuntimeError):
    """Rendering the report failed; the message says which file and what to do."""
