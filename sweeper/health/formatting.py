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
    """`value` with one digit more than `other` (a threshold's text) has, at least two, and more
    until the two texts differ.

    So a message never reads "1e+04 > 1e+04", and 0.9993 against 0.999 reads
    "9.993e-01 > 9.99e-01", not "1e+00 > 9.99e-01".
    """
    mantissa = other.split("e")[0].lstrip("-")
    other_digits = sum(c.isdigit() for c in mantissa.lstrip("0.")) if "e" in other else 1
    digits = min(max(2, other_digits + 1), max_digits)
    text = sci(value, digits)
    while text == other and digits < max_digits and math.isfinite(float(value)):
        digits += 1
        text = sci(value, digits)
    return text
