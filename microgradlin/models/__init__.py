"""Models: the ``Module`` base class and the lecture's linear models."""

from .features import FunctionFeatures, PolynomialFeatures, add_bias_column
from .linear_regression import Adaline, LinearRegression
from .logistic import LogisticRegression
from .module import Linear, Module
from .perceptron import Perceptron
from .softmax import SoftmaxRegression

__all__ = [
    "Module", "Linear",
    "Perceptron", "LinearRegression", "Adaline", "LogisticRegression", "SoftmaxRegression",
    "PolynomialFeatures", "FunctionFeatures", "add_bias_column",
]
