// Money as the API shows it: an ISO 4217 currency code beside a decimal string written with exactly
// the currency's minor units ("49.00" EUR, "5000" JPY, "1.500" KWD). Prices stay decimal strings
// end to end (numeric in PostgreSQL), never floating point.

// ISO 4217's minor units where they are not 2. The runtime's ICU (CLDR) data is not used for these:
// it gives some currencies the digits of their cash (IQD 0, where ISO 4217 has 3; HUF 0, ISO 2).
const MINOR_UNITS: Readonly<Record<string, number>> = {
  BIF: 0, CLP: 0, DJF: 0, GNF: 0, ISK: 0, JPY: 0, KMF: 0, KRW: 0, PYG: 0, RWF: 0, UGX: 0, UYI: 0, VND: 0, VUV: 0,
  XAF: 0, XOF: 0, XPF: 0,
  BHD: 3, IQD: 3, JOD: 3, KWD: 3, LYD: 3, OMR: 3, TND: 3,
  CLF: 4, UYW: 4,
};

/** The ISO 4217 codes in use, as the runtime knows them (no fund or precious-metal codes). */
export const CURRENCIES: readonly string[] = Intl.supportedValuesOf('currency');
const KNOWN = new Set(CURRENCIES);

export const isCurrency = (code: string): boolean => KNOWN.has(code);

/** Digits after the decimal point in an amount of `currency` (JPY 0, EUR 2, KWD 3). */
export const minorUnits = (currency: string): number => MINOR_UNITS[currency] ?? 2;

/**
 * `price` (a decimal string) written with exactly the currency's minor units: "49.5" EUR is
 * "49.50", "5000.00" JPY is "5000". Undefined when it has a digit finer than the currency's
 * smallest unit ("49.50" JPY, "1.005" EUR): such a price cannot be paid.
 */
export function normalizePrice(price: string, currency: string): string | undefined {
  const [whole, fraction = ''] = price.split('.');
  const digits = minorUnits(currency);
  if (/[1-9]/.test(fraction.slice(digits))) return undefined;
  return digits ? `${whole}.${fraction.slice(0, digits).padEnd(digits, '0')}` : whole;
}
