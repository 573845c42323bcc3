/**
 * Jupyter counts cursor positions in Unicode code points (protocol 5.2); JavaScript strings index
 * UTF-16 code units. These convert between the two so an emoji before the cursor does not shift it.
 */
export function codePointToUtf16(text: string, cursor: number): number {
  let units = 0;
  let points = 0;
  for (const ch of text) {
    if (points >= cursor) break;
    units += ch.length;
    points++;
  }
  return units;
}

export function utf16ToCodePoint(text: string, index: number): number {
  return [...text.slice(0, index)].length;
}
