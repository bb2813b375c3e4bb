import { readFileSync } from 'node:fs';

/** A fixture payload, as bytes. */
export const fixture = (name: string): Buffer => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));

export const NOW = Date.UTC(2024, 4, 1, 13, 0, 0);
export const T0 = Date.UTC(2024, 4, 1, 12, 0, 0);

/** Protocol buffers wire encoding, written by hand from the .proto field numbers so tests do not
 * depend on the schema under test. */
export class Pb {
  private readonly parts: Buffer[] = [];

  private varint(n: bigint | number): this {
    let v = BigInt(n);
    const out: number[] = [];
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v > 0n) byte |= 0x80;
      out.push(byte);
    } while (v > 0n);
    this.parts.push(Buffer.from(out));
    return this;
  }

  private tag(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }

  uint(field: number, n: bigint | number): this {
    return this.tag(field, 0).varint(n);
  }

  fixed64(field: number, n: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(n);
    this.tag(field, 1);
    this.parts.push(b);
    return this;
  }

  bytes(field: number, data: Uint8Array | string): this {
    const b = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data);
    this.tag(field, 2).varint(b.length);
    this.parts.push(b);
    return this;
  }

  msg(field: number, inner: Pb): this {
    return this.bytes(field, inner.finish());
  }

  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}
