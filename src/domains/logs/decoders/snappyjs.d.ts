// snappyjs ships no types; these are the two functions of its documented API.
declare module 'snappyjs' {
  /** Snappy block-format decompression; throws when the declared length is over `maxLength` or the data is invalid. */
  export function uncompress<T extends Uint8Array | ArrayBuffer>(compressed: T, maxLength?: number): T;
  export function compress<T extends Uint8Array | ArrayBuffer>(uncompressed: T): T;
  const snappy: { uncompress: typeof uncompress; compress: typeof compress };
  export default snappy;
}
