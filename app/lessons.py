"""The four lessons, importable for notebooks:

    from app.lessons import GradientDescent
    GradientDescent(landscape="rosenbrock")
"""

from app.backprop import Backpropagation
from app.derivative import Derivative
from app.descent import GradientDescent
from app.stochastic import StochasticAdaptive

__all__ = ["Derivative", "GradientDescent", "Backpropagation", "StochasticAdaptive"]
