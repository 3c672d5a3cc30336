/** Formatters: en-AU output, the fallback locale, and bad input left visible. */
import { describe, expect, it } from "vitest";
import { formatCount, formatDate, formatDateTime, formatMoney, formatMonth, userLocale } from "./format";

const AU = { locale: "en-AU", timeZone: "Australia/Sydney" };

describe("formatDate", () => {
  const cases: Array<[input: string, expected: string, reason: string]> = [
    ["2026-11-23T10:00:00Z", "23/11/2026", "en-AU puts the day first with two digits"],
    ["2026-11-23T14:30:00Z", "24/11/2026", "an instant is shown on the Sydney calendar day (UTC+11 in November)"],
    ["2026-11-23", "23/11/2026", "a date-only value is a calendar date and must not shift with the time zone"],
    ["2026-01-05", "05/01/2026", "single-digit days and months are zero-padded"],
    ["not a date", "not a date", "unparseable input is shown as given, not as 'Invalid Date'"],
  ];
  it.each(cases)("%s -> %s", (input, expected, reason) => {
    expect(formatDate(input, AU), reason).toBe(expected);
  });

  it("never shifts a date-only value, even west of UTC", () => {
    expect(
      formatDate("2026-11-23", { locale: "en-AU", timeZone: "America/Los_Angeles" }),
      "2026-11-23 is the 23rd everywhere",
    ).toBe("23/11/2026");
  });
});

describe("formatDateTime", () => {
  const cases: Array<[input: string, expected: string, reason: string]> = [
    ["2026-11-23T03:05:00Z", "23/11/2026, 2:05 pm", "UTC is converted to local time, 12-hour with lower-case pm"],
    ["2026-06-01T00:00:00Z", "01/06/2026, 10:00 am", "winter in Sydney is UTC+10 (no daylight saving)"],
    ["2026-11-23", "23/11/2026", "a date-only value has no time to show"],
    ["garbage", "garbage", "unparseable input is shown as given"],
  ];
  it.each(cases)("%s -> %s", (input, expected, reason) => {
    expect(formatDateTime(input, AU), reason).toBe(expected);
  });
});

describe("formatMoney", () => {
  const cases: Array<[amount: number | string, expected: string, reason: string]> = [
    [1234.5, "$1,234.50", "AUD in en-AU is a plain dollar sign, grouped thousands, two decimals"],
    ["1234.50", "$1,234.50", "decimal strings from rust_decimal are accepted"],
    [-1234.5, "-$1,234.50", "negatives keep the sign before the symbol"],
    [0, "$0.00", "zero still shows cents"],
    ["12345678901234567.25", "$12,345,678,901,234,567.25", "decimal strings are formatted exactly, beyond float precision"],
    ["12,34", "12,34", "a malformed amount is shown as given rather than as NaN"],
  ];
  it.each(cases)("%s -> %s", (amount, expected, reason) => {
    expect(formatMoney(amount, "AUD", { locale: "en-AU" }), reason).toBe(expected);
  });

  it("marks foreign currencies", () => {
    expect(formatMoney(10, "USD", { locale: "en-AU" }), "USD must not look like AUD to an Australian reader").toBe(
      "USD\u00a010.00",
    );
  });
});

describe("formatCount", () => {
  it("groups thousands", () => {
    expect(formatCount(12345, { locale: "en-AU" }), "counts use the locale's grouping").toBe("12,345");
  });
});

describe("userLocale", () => {
  it("uses the webview's preferred language when Intl supports it", () => {
    expect(userLocale({ languages: ["en-GB", "en"], language: "en-GB" }), "the first preference wins").toBe("en-GB");
  });
  it("falls back to en-AU when the webview gives no language", () => {
    expect(userLocale({ languages: [], language: "" }), "the product's home locale is the default").toBe("en-AU");
    expect(userLocale(null), "no navigator at all (e.g. a worker) also falls back").toBe("en-AU");
  });
  it("skips malformed tags", () => {
    expect(userLocale({ languages: ["not a tag!"], language: "" }), "a bad tag must not throw").toBe("en-AU");
  });
});

describe("formatMonth", () => {
  it("names a month without shifting it by time zone", () => {
    expect(formatMonth("2026-11", { locale: "en-AU" }), "en-AU short month and year").toBe("Nov 2026");
    expect(formatMonth("not a month"), "bad input stays visible").toBe("not a month");
  });
});
