/** Review group headings: how a group of conflicts is named for the bookkeeper. */
import { describe, expect, it } from "vitest";
import { sampleConflicts } from "../backend";
import { buildRows } from "./rows";

describe("review group headings", () => {
  it("name the customer the backend found, before any value or the record key", () => {
    const [c] = sampleConflicts(1);
    const labelled = { ...c!, field: "email", label: "Zoë Ng" };
    const group = buildRows([labelled], { entity: "all", field: "", text: "" })[0]!;
    expect(group.kind === "group" && group.label, "a bookkeeper recognises a customer by name, not by record key").toBe("Customer Zoë Ng");
  });

  it("fall back to the record key when nothing names the customer", () => {
    const [c] = sampleConflicts(1);
    const bare = { ...c!, field: "email", label: undefined, entityKey: "party:1/contacts/7" };
    const group = buildRows([bare], { entity: "all", field: "", text: "" })[0]!;
    expect(group.kind === "group" && group.label, "without a name the heading still identifies the record").toBe("Customer 1/contacts/7");
  });
});
