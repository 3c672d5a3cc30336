/** summariseDetail: JSON detail in, one readable line out. */
import { describe, expect, it } from "vitest";
import { DETAIL_MAX_CHARS, summariseDetail } from "./detail";

describe("summariseDetail", () => {
  const cases: Array<[input: string, expected: string, reason: string]> = [
    ['{"fetched":42,"provider":"hubspot"}', "fetched: 42, provider: hubspot", "an object becomes key: value pairs"],
    ['"Opened workspace"', "Opened workspace", "a JSON string is shown without quotes"],
    ["{}", "", "an empty object says nothing, so nothing is shown"],
    ["null", "", "null says nothing"],
    ['{"ids":[1,2],"by":{"name":"kim"},"note":null}', "ids: [1, 2], by: {name: kim}, note: none", "nested values stay readable"],
    ["[1,2,3]", "1, 2, 3", "a top-level array is a list"],
    ["not json at all", "not json at all", "text that is not JSON is shown as it is"],
  ];
  it.each(cases)("%s", (input, expected, reason) => {
    expect(summariseDetail(input), reason).toBe(expected);
  });

  it("cuts long detail with an ellipsis", () => {
    const long = JSON.stringify({ note: "x".repeat(500) });
    const line = summariseDetail(long);
    expect(line.length, "one line, not a wall of text").toBe(DETAIL_MAX_CHARS);
    expect(line.endsWith("…"), "the cut is visible").toBe(true);
  });
});
