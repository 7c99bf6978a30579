"""Health numbers as text: always scientific notation, so a tiny gradient never reads "0.00"."""

from __future__ import annotations

import math


def sci(value: float, digits: int = 2) -> str:
    """`value` in scientific notation with `digits` significant digits: 4.7e+04, 3.1e-09, 1e+04.

    Non-finite values read "nan", "inf" or "-inf"; trailing zeros of the mantissa are dropped.
    """
    value = float(value)
    if not math.isfinite(value):
        return str(value)
    mantissa, exponent = f"{value:.{max(digits, 1) - 1}e}".split("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{exponent}"


def sci_exact(value: float, max_digits: int = 8) -> str:
    """The shortest scientific notation that reads back as `value` (up to `max_digits` digits).

    For thresholds a user typed: 0.999 reads 9.99e-01, not 1e+00.
    """
    for digits in range(1, max_digits + 1):
        text = sci(value, digits)
        if not math.isfinite(value) or float(text) == float(value):
            return text
    return sci(value, max_digits)


def sci_against(value: float, other: str, max_digits: int = 8) -> str:
    """`value` with two digits, or more until its text differs from `other` (a threshold's text).

    So a message never reads "1e+04 > 1e+04".
    """
    text = sci(value)
    digits = 2
    while text == other and digits < max_digits and math.isfinite(float(value)):
        digits += 1
        text = sci(value, digits)
    return text
