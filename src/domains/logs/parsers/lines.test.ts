import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineSplitter } from './lines.js';

function split(chunks: (Buffer | string)[], max?: number): { lines: [number, string][]; tooLong: [number, number][] } {
  const lines: [number, string][] = [];
  const tooLong: [number, number][] = [];
  const splitter = new LineSplitter({ line: (t, n) => lines.push([n, t]), tooLong: (n, len) => tooLong.push([n, len]) }, max);
  for (const c of chunks) splitter.push(c);
  splitter.end();
  return { lines, tooLong };
}

describe('LineSplitter', () => {
  it('numbers lines, drops \\r\\n and a leading BOM, keeps an unterminated last line', () => {
    expect(split(['\uFEFFa\r\nb\n', '\nc']).lines).toEqual([
      [1, 'a'],
      [2, 'b'],
      [3, ''],
      [4, 'c'],
    ]);
  });

  it('does not make a line of the final newline', () => {
    expect(split(['a\nb\n']).lines).toEqual([
      [1, 'a'],
      [2, 'b'],
    ]);
  });

  it('decodes a UTF-8 character split across chunks', () => {
    const bytes = Buffer.from('é€\n😀x\n');
    expect(split([bytes.subarray(0, 1), bytes.subarray(1, 4), bytes.subarray(4, 7), bytes.subarray(7)]).lines).toEqual([
      [1, 'é€'],
      [2, '😀x'],
    ]);
  });

  it('reports and skips an over-long line without holding it, then goes on', () => {
    const long = 'x'.repeat(50);
    expect(split(['ok\n', long.slice(0, 20), long.slice(20), '\nnext\n', 'y'.repeat(30)], 16)).toEqual({
      lines: [
        [1, 'ok'],
        [3, 'next'],
      ],
      tooLong: [
        [2, 50],
        [4, 30],
      ],
    });
    expect(split([`${'z'.repeat(17)}\nshort\n`], 16)).toEqual({ lines: [[2, 'short']], tooLong: [[1, 17]] });
  });

  it('gives the same lines however the bytes are chunked', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', 'é', '😀', '\n', '\r\n', ' ', '"'), { maxLength: 80 }), fc.array(fc.nat(), { maxLength: 10 }), (parts, cuts) => {
        const text = parts.join('');
        const bytes = Buffer.from(text);
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const chunks: Buffer[] = [];
        let prev = 0;
        for (const p of [...points, bytes.length]) {
          chunks.push(bytes.subarray(prev, p));
          prev = p;
        }
        const expected = text.split('\n').map((l) => l.replace(/\r$/, ''));
        if (text.endsWith('\n')) expected.pop();
        expect(split(chunks).lines.map(([, l]) => l)).toEqual(text.length === 0 ? [] : expected);
      }),
    );
  });
});
