/**
 * Locale-aware formatting of dates, times, counts and money, via Intl.
 *
 * The user's locale comes from the webview (which follows the operating
 * system); when it is missing or unusable we fall back to en-AU, so an
 * Australian bookkeeper sees 23/11/2026 and $1,234.50. Instants from Rust are
 * RFC 3339 in UTC and are shown in the user's time zone; date-only values
 * (2026-11-23) are calendar dates and are never shifted by a time zone.
 * Values that cannot be parsed are returned as given rather than as
 * "Invalid Date", so bad data stays visible and diagnosable.
 */

export const DEFAULT_LOCALE = "en-AU";
export const DEFAULT_CURRENCY = "AUD";

export interface FormatOptions {
  /** BCP 47 tag; defaults to `userLocale()`. */
  locale?: string;
  /** IANA zone for instants; defaults to the system zone. */
  timeZone?: string;
}

/** The first of the webview's preferred languages that Intl supports, else en-AU. */
export function userLocale(
  nav: Pick<Navigator, "language" | "languages"> | null = globalThis.navigator ?? null,
): string {
  const candidates = [...(nav?.languages ?? []), nav?.language].filter(
    (tag): tag is string => typeof tag === "string" && tag !== "",
  );
  for (const tag of candidates) {
    try {
      if (Intl.DateTimeFormat.supportedLocalesOf(tag).length > 0) return tag;
    } catch {
      // A malformed tag (RangeError): try the next one.
    }
  }
  return DEFAULT_LOCALE;
}

const cache = new Map<string, Intl.DateTimeFormat | Intl.NumberFormat>();

function cached<T extends Intl.DateTimeFormat | Intl.NumberFormat>(key: string, make: () => T): T {
  let formatter = cache.get(key);
  if (formatter === undefined) {
    formatter = make();
    cache.set(key, formatter);
  }
  return formatter as T;
}

function dateTimeFormat(locale: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  return cached(`dt|${locale}|${JSON.stringify(options)}`, () => new Intl.DateTimeFormat(locale, options));
}

function numberFormat(locale: string, options: Intl.NumberFormatOptions): Intl.NumberFormat {
  return cached(`n|${locale}|${JSON.stringify(options)}`, () => new Intl.NumberFormat(locale, options));
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

function parse(value: string): Date | null {
  // Date-only strings parse as UTC midnight; callers format them in UTC.
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** A calendar date: "23/11/2026" in en-AU. */
export function formatDate(value: string, options: FormatOptions = {}): string {
  const date = parse(value);
  if (date === null) return value;
  const timeZone = DATE_ONLY.test(value) ? "UTC" : options.timeZone;
  return dateTimeFormat(options.locale ?? userLocale(), {
    day: "2-digit",
    month: "2-digit",
    year: "numeric",
    ...(timeZone ? { timeZone } : {}),
  }).format(date);
}

/** An instant with minutes: "23/11/2026, 2:05 pm" in en-AU. */
export function formatDateTime(value: string, options: FormatOptions = {}): string {
  if (DATE_ONLY.test(value)) return formatDate(value, options);
  const date = parse(value);
  if (date === null) return value;
  return dateTimeFormat(options.locale ?? userLocale(), {
    day: "2-digit",
    month: "2-digit",
    year: "numeric",
    hour: "numeric",
    minute: "2-digit",
    ...(options.timeZone ? { timeZone: options.timeZone } : {}),
  }).format(date);
}

/** A whole count with grouping: "1,234". */
export function formatCount(value: number, options: Pick<FormatOptions, "locale"> = {}): string {
  return numberFormat(options.locale ?? userLocale(), { maximumFractionDigits: 0 }).format(value);
}

/**
 * Money: "$1,234.50" for AUD in en-AU. Amounts may be decimal strings (as
 * rust_decimal serialises them), which are formatted exactly, without a detour
 * through floating point.
 */
export function formatMoney(
  amount: number | string,
  currency: string = DEFAULT_CURRENCY,
  options: Pick<FormatOptions, "locale"> = {},
): string {
  if (typeof amount === "string" && !/^\s*-?\d+(\.\d+)?\s*$/.test(amount)) return amount;
  const formatter = numberFormat(options.locale ?? userLocale(), { style: "currency", currency });
  return formatter.format(amount as number | `${number}`);
}

/** A calendar month from `YYYY-MM`: "Nov 2026" in en-AU. */
export function formatMonth(month: string, options: Pick<FormatOptions, "locale"> = {}): string {
  if (!/^\d{4}-\d{2}$/.test(month)) return month;
  const date = parse(`${month}-01`);
  if (date === null) return month;
  return dateTimeFormat(options.locale ?? userLocale(), { month: "short", year: "numeric", timeZone: "UTC" }).format(date);
}
