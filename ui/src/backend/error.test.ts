/** Error normalisation: every rejection becomes an ApiError with a known code. */
import { describe, expect, it } from "vitest";
import { normaliseError } from "./error";
import type { ApiError } from "./types";

describe("normaliseError", () => {
  const cases: Array<[name: string, input: unknown, expected: ApiError]> = [
    [
      "an ApiError from Rust passes through unchanged",
      { code: "not_found", message: "No such connection" },
      { code: "not_found", message: "No such connection" },
    ],
    [
      "extra fields on an ApiError are dropped",
      { code: "store", message: "Database is locked", extra: 1 },
      { code: "store", message: "Database is locked" },
    ],
    [
      "an unknown code is internal, but the message is kept for the user",
      { code: "brand_new_code", message: "Something new" },
      { code: "internal", message: "Something new" },
    ],
    ["a bare string (Tauri's own errors) is internal", "command foo not found", { code: "internal", message: "command foo not found" }],
    ["a thrown Error is internal", new Error("boom"), { code: "internal", message: "boom" }],
    ["null still yields a readable message", null, { code: "internal", message: "Unexpected error: null" }],
    ["an empty string still yields a message", "", { code: "internal", message: "Unknown error" }],
  ];
  it.each(cases)("%s", (_name, input, expected) => {
    expect(normaliseError(input)).toEqual(expected);
  });
});
