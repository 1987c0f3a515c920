"""Stripe's minor units: how many decimals an API ``amount`` has per currency.

Stripe's table, not Odoo's rounding and not ISO 4217: the two disagree for
several currencies, and an amount read with the wrong exponent is wrong by a
factor of 100. See https://docs.stripe.com/currencies.

* Zero-decimal currencies: ``amount`` is in whole units (``500`` JPY is ¥500).
* Three-decimal currencies: ``amount`` has three decimals (``5120`` KWD is
  5.120); Stripe wants the last digit 0 on charges, amounts read from it are
  exact anyway.
* Special cases, all read as two-decimal amounts:

  - ISK became effectively zero-decimal in 2023 but stays two-decimal in the
    API for backwards compatibility: ``500`` is 5 ISK, always a multiple of
    100. Odoo's ISK has no decimals, so the conversion gives whole krónur.
  - HUF and TWD are two-decimal for charges and zero-decimal for payouts,
    whose amounts are still sent with two decimals and divisible by 100.
  - UGX is zero-decimal in Stripe's API although ISO 4217 (and Odoo) give it
    two decimals: ``5000`` is USh 5,000, not 50.00.

Plain Python, unit-tested without a database.
"""

from decimal import Decimal

ZERO_DECIMAL = frozenset(
    "BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF".split()
)
THREE_DECIMAL = frozenset("BHD JOD KWD OMR TND".split())
# two-decimal in the API although the currency is (partly) zero-decimal
TWO_DECIMAL_SPECIAL_CASES = frozenset("ISK HUF TWD".split())


def exponent(code):
    """Decimals of Stripe amounts in ``code`` (ISO letters, any case)."""
    code = code.upper()
    if code in ZERO_DECIMAL:
        return 0
    if code in THREE_DECIMAL:
        return 3
    return 2


def from_minor(amount, code):
    """Decimal value of the integer Stripe ``amount`` in currency ``code``.

    :raises TypeError: ``amount`` is not an integer (Stripe never sends floats)
    """
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError(f"amount {amount!r} is not an integer of minor units")
    return Decimal(amount).scaleb(-exponent(code))


def to_minor(value, code):
    """The integer Stripe ``amount`` of a decimal ``value`` in ``code``.

    :raises ValueError: ``value`` has more decimals than Stripe's currency
    """
    scaled = Decimal(str(value)).scaleb(exponent(code))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} {code} has more decimals than Stripe accepts")
    return int(scaled)


def to_money(amount, code):
    """Canonical money string (``"12.34"``) of a Stripe ``amount``."""
    digits = exponent(code)
    return f"{from_minor(amount, code):.{digits}f}"
