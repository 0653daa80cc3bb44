/** The three-way merge of templates and the conflict resolution by side: given/want tables. */
import { describe, expect, it } from "vitest";
import { firstConflictLine, mergeThreeWay, resolveConflicts } from "../../src/eject/merge.js";

const labels = { yours: "yours", upstream: "upstream" };
const BASE = "a\nb\nc\nd\ne\nf\ng\n";

describe("mergeThreeWay", () => {
  const cases: [string, { yours: string; upstream: string; prefer?: "ours" | "theirs"; want: string; conflicts: number }][] = [
    ["nobody changed anything", { yours: BASE, upstream: BASE, want: BASE, conflicts: 0 }],
    ["only you changed it: yours", { yours: BASE.replace("b\n", "B\n"), upstream: BASE, want: "a\nB\nc\nd\ne\nf\ng\n", conflicts: 0 }],
    ["only upstream changed it: upstream", { yours: BASE, upstream: BASE.replace("f\n", "F\n"), want: "a\nb\nc\nd\ne\nF\ng\n", conflicts: 0 }],
    ["both, on different lines: both changes", { yours: BASE.replace("b\n", "B\n"), upstream: BASE.replace("f\n", "F\nF2\n"), want: "a\nB\nc\nd\ne\nF\nF2\ng\n", conflicts: 0 }],
    ["both made the same change: taken once", { yours: BASE.replace("d\n", "D\n"), upstream: BASE.replace("d\n", "D\n"), want: "a\nb\nc\nD\ne\nf\ng\n", conflicts: 0 }],
    [
      "both changed the same line differently: standard markers",
      { yours: BASE.replace("d\n", "mine\n"), upstream: BASE.replace("d\n", "theirs\n"), want: "a\nb\nc\n<<<<<<< yours\nmine\n=======\ntheirs\n>>>>>>> upstream\ne\nf\ng\n", conflicts: 1 },
    ],
    ["a conflict settled --ours", { yours: BASE.replace("d\n", "mine\n"), upstream: BASE.replace("d\n", "theirs\n").replace("g\n", "G\n"), prefer: "ours", want: "a\nb\nc\nmine\ne\nf\nG\n", conflicts: 0 }],
    ["a conflict settled --theirs", { yours: BASE.replace("d\n", "mine\n").replace("a\n", "A\n"), upstream: BASE.replace("d\n", "theirs\n"), prefer: "theirs", want: "A\nb\nc\ntheirs\ne\nf\ng\n", conflicts: 0 }],
    ["CRLF in your copy does not make every line a conflict", { yours: BASE.replace(/\n/g, "\r\n").replace("b\r\n", "B\r\n"), upstream: BASE.replace("f\n", "F\n"), want: "a\nB\nc\nd\ne\nF\ng\n", conflicts: 0 }],
  ];
  it.each(cases)("%s", (_name, { yours, upstream, prefer, want, conflicts }) => {
    const r = mergeThreeWay(yours, BASE, upstream, labels, prefer);
    expect(r.text).toBe(want);
    expect(r.conflicts).toBe(conflicts);
  });
});

describe("resolveConflicts and firstConflictLine", () => {
  const merged = "a\n<<<<<<< yours\nmine\n=======\ntheirs\n>>>>>>> upstream\nb\n<<<<<<< yours\n||||||| base\nold\n=======\nnew\n>>>>>>> upstream\n";
  it("finds the first marker line", () => {
    expect(firstConflictLine(merged)).toBe(2);
    expect(firstConflictLine("no markers\n=== not one\n")).toBeUndefined();
  });
  const cases: [string, { side: "ours" | "theirs"; want: string }][] = [
    ["keeps your side of every block (without a diff3 base section)", { side: "ours", want: "a\nmine\nb\n" }],
    ["keeps upstream's side of every block", { side: "theirs", want: "a\ntheirs\nb\nnew\n" }],
  ];
  it.each(cases)("%s", (_name, { side, want }) => {
    const r = resolveConflicts(merged, side);
    expect(r).toEqual({ text: want, resolved: 2, unbalanced: false });
  });
  it("leaves unbalanced markers alone", () => {
    const text = "a\n<<<<<<< yours\nmine\nb\n";
    expect(resolveConflicts(text, "ours")).toEqual({ text, resolved: 0, unbalanced: true });
  });
});
