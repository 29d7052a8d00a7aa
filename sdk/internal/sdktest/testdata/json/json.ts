// Unit tests of sdk/assemblyscript/assembly/json.ts: run() returns the
// number of the first failed case, or 0.
import { jsonString, jsonNumber } from "../../../../assemblyscript/assembly/json";

function doc(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s));
}

const DOC = ' {"a": [1, {"title": "no"}], "title": "H\\u00e9llo \\ud83c\\udf89 \\"x\\"\\n", "n": -1.5e2, "z": 0, "t": true} ';

function str(json: string, field: string, want: string | null): bool {
  let got = jsonString(doc(json), field);
  if (want == null) return got == null;
  return got != null && got == want;
}

function num(json: string, field: string, want: f64): bool {
  let got = jsonNumber(doc(json), field);
  return isNaN(want) ? isNaN(got) : got == want;
}

export function run(): i32 {
  if (!str(DOC, "title", 'Héllo 🎉 "x"\n')) return 1;
  if (!str(DOC, "n", null)) return 2;
  if (!str(DOC, "missing", null)) return 3;
  if (!str('{"s": "\\ud800x"}', "s", "\uFFFDx")) return 4;
  if (!str('{"s": "x",}', "s", null)) return 5;
  if (!str('{"s": "x"} x', "s", null)) return 6;
  if (!str('["s"]', "s", null)) return 7;
  if (!num(DOC, "n", -150)) return 8;
  if (!num(DOC, "z", 0)) return 9;
  if (!num(DOC, "t", NaN)) return 10;
  if (!num('{"n": 01}', "n", NaN)) return 11;
  if (!num('{"n": 2.5e-3}', "n", 0.0025)) return 12;
  return 0;
}
