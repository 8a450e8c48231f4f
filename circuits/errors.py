"""The one error a circuit raises for anything a person typed or passed in wrong."""


class ExpressionError(ValueError):
    """An expression or an input the circuit cannot accept.

    The message says what is wrong and, for text, where: ``column`` is 1-based (None when the
    problem is not at one place, e.g. a missing variable value).
    """

    def __init__(self, message: str, column: int | None = None):
        if column is not None:
            message = f"{message} (column {column})"
        super().__init__(message)
        self.column = column
